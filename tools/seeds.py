"""The seed range shared by runs, takes, batch rows and repairs: numpy's and torch's generators take 32 bits."""

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
