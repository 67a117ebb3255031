"""Array namespaces: which library an array belongs to, and moving results home.

The lowest layer of skce (it imports nothing from skce). The loss engine and the
objective are written once against the array API standard; they call
:func:`namespace` and take numpy's in-place fast path when it says numpy.
"""

import numpy as np
import scipy.sparse as sp


def is_dask_collection(obj):
    """True for dask arrays, dataframes and series, without importing dask."""
    return type(obj).__module__.partition(".")[0] == "dask"


def uses_array_api(X):
    """True when array API dispatch is on and X is a non-numpy array API array.

    Examples
    --------
    >>> import numpy as np
    >>> uses_array_api(np.ones((2, 2)))  # numpy always takes the numpy path
    False
    """
    if isinstance(X, np.ndarray) or sp.issparse(X):
        return False
    from sklearn import get_config

    if not get_config()["array_api_dispatch"]:
        return False
    from sklearn.externals.array_api_compat import is_array_api_obj, is_numpy_array

    return is_array_api_obj(X) and not is_numpy_array(X)


def namespace(a):
    """``(xp, is_numpy)`` for an array: numpy itself (and scipy sparse) gives
    ``(numpy, True)``; any other array API array its compatible namespace.

    Examples
    --------
    >>> import numpy as np
    >>> namespace(np.ones(2))[1]
    True
    """
    if isinstance(a, np.ndarray) or sp.issparse(a) or np.isscalar(a):
        return np, True
    from sklearn.externals.array_api_compat import array_namespace, is_numpy_array

    if is_numpy_array(a):
        return np, True
    return array_namespace(a), False


def device_of(a):
    """The device of an array (None for numpy)."""
    if isinstance(a, np.ndarray) or sp.issparse(a):
        return None
    from sklearn.externals.array_api_compat import device

    return device(a)


def to_numpy(a):
    """Copy an array of any supported namespace to a numpy array on the host.

    Examples
    --------
    >>> import numpy as np
    >>> to_numpy(np.arange(3))
    array([0, 1, 2])
    """
    if isinstance(a, np.ndarray):
        return a
    from sklearn.externals.array_api_compat import is_cupy_array, is_torch_array

    if is_torch_array(a):
        return a.detach().cpu().numpy()
    if is_cupy_array(a):
        return a.get()
    return np.from_dlpack(a)


def numpy_dtype(xp, dtype):
    """The numpy dtype matching a namespace's floating dtype."""
    if xp is np:
        return np.dtype(dtype)
    return np.dtype(np.float32) if dtype == xp.float32 else np.dtype(np.float64)


def nbytes(X):
    """Memory taken by an array's values: for scipy sparse its stored arrays (data,
    indices, pointers), otherwise ``n_elements * itemsize`` (numpy, dask, any array
    API array).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> nbytes(np.zeros((10, 3))), nbytes(sp.eye(4, format="csr"))
    (240, 68)
    """
    if sp.issparse(X):
        return sum(getattr(X, name).nbytes for name in
                   ("data", "indices", "indptr", "row", "col", "offsets")
                   if isinstance(getattr(X, name, None), np.ndarray))
    n = 1
    for size in X.shape:
        n *= int(size)
    if isinstance(X, np.ndarray) or is_dask_collection(X):
        return n * np.dtype(X.dtype).itemsize
    xp, _ = namespace(X)
    return n * numpy_dtype(xp, X.dtype).itemsize
