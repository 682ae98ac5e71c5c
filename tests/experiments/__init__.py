"""Real (simulated-learning) experiments whose losses families are fitted to."""
