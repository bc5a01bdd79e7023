"""Training: one step of the N-step chain (trainer), the chain itself, LOSO on the target."""
