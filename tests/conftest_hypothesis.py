"""Hypothesis profiles for the property, hostile-input and fuzz suites.

Imported by tests/test_properties.py, tests/test_fuzz.py and friends (not a pytest
conftest, so it has no effect on the other test modules unless they import it).

Profiles
--------
``ci``
    Chosen when the environment variable ``CI`` is true. Reproducible
    (``derandomize=True``: the examples depend only on the test's source, not on a
    random seed or the example database), no per-example deadline (fit times vary
    with the machine) and a bounded number of examples, so the suite stays well under
    two minutes on one core.
``dev``
    The default elsewhere: fewer examples, random seeds (a new search each run) and
    no deadline, for a suite that runs in seconds.

``stress``
    Many more examples, for hunting bugs by hand.

``HYPOTHESIS_PROFILE=<name>`` picks a profile explicitly, e.g.
``HYPOTHESIS_PROFILE=ci python -m pytest tests/test_properties.py``.

Tests scale their own ``max_examples`` with :func:`examples`, so one expensive
property (several tight fits per example) can run fewer examples than a cheap one
while the profile still decides the overall budget.
"""

import os

from hypothesis import HealthCheck, settings

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_SUPPRESS,
)
settings.register_profile(
    "dev",
    max_examples=15,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SUPPRESS,
)

# For hunting bugs by hand, not for CI: HYPOTHESIS_PROFILE=stress.
settings.register_profile(
    "stress",
    max_examples=300,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SUPPRESS,
)


def _truthy(value):
    return str(value).strip().lower() not in ("", "0", "false", "no", "off")


def profile_name():
    """The profile in force: $HYPOTHESIS_PROFILE, else "ci" when $CI is true, else
    "dev"."""
    explicit = os.environ.get("HYPOTHESIS_PROFILE")
    if explicit:
        return explicit
    return "ci" if _truthy(os.environ.get("CI", "")) else "dev"


PROFILE = profile_name()
settings.load_profile(PROFILE)
IN_CI = PROFILE == "ci"


def examples(fraction=1.0, minimum=3):
    """``max_examples`` for one test: ``fraction`` of the profile's budget."""
    return max(minimum, int(round(settings.default.max_examples * fraction)))


def estimators():
    """The classifiers the suites cover: SoftmaxRegressor, and WeightedCEClassifier
    once it is importable."""
    import skce

    found = [skce.SoftmaxRegressor]
    weighted = getattr(skce, "WeightedCEClassifier", None)
    if weighted is not None:
        found.append(weighted)
    return found
