"""The bounds of per-run values, one home for each: the config, the CLI, the web app, batch, the spec and the
music backends all validate against these."""

MIN_DURATION_S = 0.5  # shorter takes cannot be measured (tempo, key) or hold a bar of music
MAX_DURATION_S = 300.0
MAX_TAKES = 8  # one batch; more would multiply memory for little choice

# seeds: numpy's and torch's generators take 32 bits

SEEDS = 2**32
MAX_SEED = SEEDS - 1


def nth_seed(seed: int, k: int) -> int:
    """The seed `k` places after `seed` (take k of a batch, a repair's new seed), wrapping inside the range."""
    return (seed + k) % SEEDS


def repair_seed(seed: int, attempt: int) -> int:
    """The seed of verify's repair after `attempt`: a prime stride away, so it never meets a take's seed + k."""
    return nth_seed(seed, 7919 * attempt)


def fresh_seed() -> int:
    """A new run's seed when none is given: below 2**31, leaving room above it for takes and repairs."""
    import secrets

    return secrets.randbelow(2**31)
