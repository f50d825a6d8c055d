//! The adaptive concurrency window (AIMD): it starts at the ceiling, halves on a 429 or a
//! concurrency-limit error (once per burst: errors of requests started before the last halving do
//! not halve it again), and grows back by one after a run of successes.

/// The window.
#[derive(Debug, Clone)]
pub struct Window {
    size: usize,
    ceiling: usize,
    generation: u64,
    streak: usize,
}

impl Window {
    /// A window of `ceiling` (at least 1).
    pub fn new(ceiling: usize) -> Self {
        let ceiling = ceiling.max(1);
        Self {
            size: ceiling,
            ceiling,
            generation: 0,
            streak: 0,
        }
    }

    /// Requests that may be in flight now.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The generation a request starting now belongs to.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A request succeeded: after four times the window's size of successes in a row (at least
    /// 16), it grows by one, up to the ceiling.
    pub fn success(&mut self) {
        self.streak += 1;
        if self.size < self.ceiling && self.streak >= (4 * self.size).max(16) {
            self.size += 1;
            self.streak = 0;
        }
    }

    /// A request started in `generation` was refused for load: halve, unless an earlier refusal
    /// of the same burst already did. Returns whether it halved.
    pub fn throttled(&mut self, generation: u64) -> bool {
        self.streak = 0;
        if generation != self.generation {
            return false;
        }
        self.size = (self.size / 2).max(1);
        self.generation += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_once_per_burst_and_grows_back_slowly() {
        let mut w = Window::new(32);
        let g = w.generation();
        assert!(w.throttled(g));
        assert_eq!(w.size(), 16);
        // The rest of that burst's refusals do not halve again.
        assert!(!w.throttled(g));
        assert_eq!(w.size(), 16);
        let g = w.generation();
        w.throttled(g);
        w.throttled(w.generation());
        w.throttled(w.generation());
        w.throttled(w.generation());
        assert_eq!(w.size(), 1);
        w.throttled(w.generation());
        assert_eq!(w.size(), 1, "never below one");
        for _ in 0..15 {
            w.success();
        }
        assert_eq!(w.size(), 1);
        w.success();
        assert_eq!(w.size(), 2);
        for _ in 0..10_000 {
            w.success();
        }
        assert_eq!(w.size(), 32, "never above the ceiling");
    }
}
