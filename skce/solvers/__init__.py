"""Solvers: public objects that carry their own hyperparameters.

A string ``solver=`` on an estimator is a shortcut for the default object of the
table below; pass an object to tune its hyperparameters, e.g. in GridSearchCV with
``solver__learning_rate``. A user-written solver that follows one of the two
protocols documented in :mod:`skce.solvers._base` works too.

==================  ============================  ==========
name                class                         family
==================  ============================  ==========
``"auto"``          :class:`Auto`                 full-batch
``"lbfgs"``         :class:`LBFGS`                full-batch
``"newton-cg"``     :class:`NewtonCG`             full-batch
``"gd"``            :class:`GradientDescent`      full-batch
``"saga"``          :class:`SAGA`                 full-batch
``"sgd"``           :class:`SGD`                  stochastic
``"minibatch"``     :class:`MiniBatchSGD`         stochastic
``"momentum"``      :class:`Momentum`             stochastic
``"nesterov"``      :class:`Nesterov`             stochastic
``"adagrad"``       :class:`Adagrad`              stochastic
``"rmsprop"``       :class:`RMSprop`              stochastic
``"adam"``          :class:`Adam`                 stochastic
==================  ============================  ==========
"""

from ._base import FirstOrderSolver, FullBatchSolver, SolverResult
from ._first_order import (
    SGD,
    Adagrad,
    Adam,
    MiniBatchSGD,
    Momentum,
    Nesterov,
    RMSprop,
)
from ._full_batch import LBFGS, Auto, GradientDescent, NewtonCG
from ._saga import SAGA
from ._schedules import (
    Adaptive,
    Constant,
    CosineDecay,
    ExponentialDecay,
    InverseScaling,
    Schedule,
    StepDecay,
)

#: The solver names ``solver=`` accepts, each mapped to its class (a name stands
#: for the class's default object).
SOLVERS = {
    "auto": Auto,
    "lbfgs": LBFGS,
    "newton-cg": NewtonCG,
    "gd": GradientDescent,
    "saga": SAGA,
    "sgd": SGD,
    "minibatch": MiniBatchSGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}


def resolve_solver(solver):
    """Return the solver object for a name or a solver object.

    Parameters
    ----------
    solver : str or solver object

    Returns
    -------
    solver object
        A fresh default object for a name; the object itself otherwise (it is
        never modified).

    Examples
    --------
    >>> from skce.solvers import resolve_solver
    >>> resolve_solver("adam")
    Adam()
    """
    if isinstance(solver, str):
        try:
            return SOLVERS[solver]()
        except KeyError:
            raise ValueError(
                f"Unknown solver {solver!r}; use one of {sorted(SOLVERS)} or a solver "
                f"object from skce.solvers.") from None
    if callable(getattr(solver, "minimize", None)):
        return solver
    if all(callable(getattr(solver, a, None)) for a in ("init", "update")) and \
            hasattr(solver, "batch_size") and hasattr(solver, "learning_rate"):
        return solver
    raise ValueError(
        f"solver={solver!r} is neither a solver name ({sorted(SOLVERS)}) nor an "
        f"object with minimize(objective, params, *, max_iter, tol, monitor) or with "
        f"init(params), update(grad, state, params, learning_rate), batch_size and "
        f"learning_rate.")


def solver_traits(solver):
    """The family and defaults of a solver object, with a user-written one's gaps
    filled from its protocol (``minimize`` -> full-batch, else stochastic).

    Parameters
    ----------
    solver : solver object

    Returns
    -------
    dict with keys family, supports_l1, default_max_iter, default_tol

    Examples
    --------
    >>> from skce.solvers import solver_traits, LBFGS
    >>> solver_traits(LBFGS())["family"]
    'full-batch'
    """
    base = FullBatchSolver if callable(getattr(solver, "minimize", None)) \
        else FirstOrderSolver
    return {attr: getattr(solver, attr, getattr(base, attr))
            for attr in ("family", "supports_l1", "default_max_iter", "default_tol")}


__all__ = [
    "solver_traits",
    "SOLVERS", "resolve_solver", "SolverResult", "FullBatchSolver",
    "FirstOrderSolver", "Auto", "LBFGS", "NewtonCG", "GradientDescent", "SAGA", "SGD",
    "MiniBatchSGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam",
    "Schedule", "Constant", "InverseScaling", "StepDecay", "ExponentialDecay",
    "CosineDecay", "Adaptive",
]

#: Where the HTML repr's "?" links: the class's page of the API reference, as
#: scikit-learn's ``_doc_link_template`` (``estimator_module`` is the public path:
#: ``skce`` or ``skce.solvers``).
DOC_LINK_TEMPLATE = ("https://skce.readthedocs.io/en/stable/generated/"
                     "{estimator_module}.{estimator_name}.html")
for _base in (FullBatchSolver, FirstOrderSolver, Schedule):
    _base._doc_link_module = "skce"
    _base._doc_link_template = DOC_LINK_TEMPLATE
del _base

# Public classes carry their public path (numpy's ``set_module``): pickles, skops
# files and reprs name ``skce.solvers.Adam``, not the private module.
for _obj in map(globals().get, __all__):
    if isinstance(_obj, type) and _obj.__module__.startswith("skce.solvers._"):
        _obj.__module__ = __name__
del _obj
