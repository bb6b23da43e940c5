//! Which queue to take the next task from: asynq's weighted random order
//! (each queue as likely to come first as its share of the weights), or
//! strict priority.

use std::collections::BTreeMap;

/// The queues of one server and how they are ordered.
#[derive(Clone, Debug)]
pub(crate) struct QueueOrder {
    /// Queue name → weight, divided by their greatest common divisor.
    weights: Vec<(String, u32)>,
    strict: bool,
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl QueueOrder {
    pub(crate) fn new(queues: &BTreeMap<String, u32>, strict: bool) -> Self {
        let divisor = queues.values().copied().fold(0, gcd).max(1);
        let mut weights: Vec<_> = queues.iter().map(|(q, w)| (q.clone(), w / divisor)).collect();
        // Highest priority first (then by name, so the order is stable).
        weights.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Self { weights, strict }
    }

    /// Every queue name.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.weights.iter().map(|(q, _)| q.as_str())
    }

    /// The queues and their normalised weights.
    #[cfg(test)]
    pub(crate) fn priorities(&self) -> impl Iterator<Item = (&str, u32)> {
        self.weights.iter().map(|(q, w)| (q.as_str(), *w))
    }

    pub(crate) fn is_strict(&self) -> bool {
        self.strict
    }

    /// The order to try the queues in for the next dequeue.
    pub(crate) fn next(&self) -> Vec<&str> {
        if self.strict || self.weights.len() == 1 {
            return self.names().collect();
        }
        // asynq: one ticket per unit of weight, shuffled, first occurrences kept.
        let mut tickets: Vec<&str> = self
            .weights
            .iter()
            .flat_map(|(q, w)| std::iter::repeat_n(q.as_str(), *w as usize))
            .collect();
        fastrand::shuffle(&mut tickets);
        let mut order = Vec::with_capacity(self.weights.len());
        for queue in tickets {
            if !order.contains(&queue) {
                order.push(queue);
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(list: &[(&str, u32)]) -> BTreeMap<String, u32> {
        list.iter().map(|(q, w)| ((*q).to_owned(), *w)).collect()
    }

    #[test]
    fn strict_priority_is_by_weight() {
        let order = QueueOrder::new(&queues(&[("low", 1), ("critical", 6), ("default", 3)]), true);
        assert_eq!(order.next(), ["critical", "default", "low"]);
    }

    #[test]
    fn weighted_order_follows_the_weights() {
        let order = QueueOrder::new(&queues(&[("low", 2), ("critical", 6), ("default", 4)]), false);
        assert_eq!(
            order.priorities().collect::<Vec<_>>(),
            [("critical", 3), ("default", 2), ("low", 1)]
        );
        let firsts = (0..6000).filter(|_| order.next()[0] == "critical").count();
        // Expected share 3/6 = 3000.
        assert!((2700..3300).contains(&firsts), "critical first {firsts} times in 6000");
        assert_eq!(order.next().len(), 3);
    }
}
