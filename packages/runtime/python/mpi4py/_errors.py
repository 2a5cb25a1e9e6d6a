"""MPI error classes and MPI.Exception (codes and strings as Open MPI 4.1 reports them,
so scripts comparing error classes behave the same under mpiaas)."""

SUCCESS = 0
_TABLE = [
    ('SUCCESS', 0, 'no errors'),
    ('ERR_BUFFER', 1, 'invalid buffer pointer'),
    ('ERR_COUNT', 2, 'invalid count argument'),
    ('ERR_TYPE', 3, 'invalid datatype'),
    ('ERR_TAG', 4, 'invalid tag'),
    ('ERR_COMM', 5, 'invalid communicator'),
    ('ERR_RANK', 6, 'invalid rank'),
    ('ERR_REQUEST', 7, 'invalid request'),
    ('ERR_ROOT', 8, 'invalid root'),
    ('ERR_GROUP', 9, 'invalid group'),
    ('ERR_OP', 10, 'invalid reduce operation'),
    ('ERR_TOPOLOGY', 11, 'invalid communicator topology'),
    ('ERR_DIMS', 12, 'invalid topology dimension'),
    ('ERR_ARG', 13, 'invalid argument of some other kind'),
    ('ERR_UNKNOWN', 14, 'unknown error'),
    ('ERR_TRUNCATE', 15, 'message truncated'),
    ('ERR_OTHER', 16, 'known error not in list'),
    ('ERR_INTERN', 17, 'internal error'),
    ('ERR_IN_STATUS', 18, 'error code in status'),
    ('ERR_PENDING', 19, 'pending request'),
    ('ERR_ACCESS', 20, 'invalid access mode'),
    ('ERR_AMODE', 21, 'invalid amode argument'),
    ('ERR_ASSERT', 22, 'invalid assert argument'),
    ('ERR_BAD_FILE', 23, 'bad file'),
    ('ERR_BASE', 24, 'invalid base'),
    ('ERR_CONVERSION', 25, 'error in data conversion'),
    ('ERR_DISP', 26, 'invalid displacement'),
    ('ERR_DUP_DATAREP', 27, 'error duplicating data representation'),
    ('ERR_FILE_EXISTS', 28, 'file exists alreay'),
    ('ERR_FILE_IN_USE', 29, 'file already in use'),
    ('ERR_FILE', 30, 'invalid file'),
    ('ERR_INFO_KEY', 31, 'invalid key argument for info object'),
    ('ERR_INFO_NOKEY', 32, 'unknown key for given info object'),
    ('ERR_INFO_VALUE', 33, 'invalid value argument for info object'),
    ('ERR_INFO', 34, 'invalid info object'),
    ('ERR_IO', 35, 'input/output error'),
    ('ERR_KEYVAL', 36, 'invalid key value'),
    ('ERR_LOCKTYPE', 37, 'invalid lock'),
    ('ERR_NAME', 38, 'invalid name argument'),
    ('ERR_NO_MEM', 39, 'out of memory'),
    ('ERR_NOT_SAME', 40, 'objects are not identical'),
    ('ERR_NO_SPACE', 41, 'no space left on device'),
    ('ERR_NO_SUCH_FILE', 42, 'no such file or directory'),
    ('ERR_PORT', 43, 'invalid port'),
    ('ERR_QUOTA', 44, 'out of quota'),
    ('ERR_READ_ONLY', 45, 'file is read only'),
    ('ERR_RMA_CONFLICT', 46, 'rma conflict during operation'),
    ('ERR_RMA_SYNC', 47, 'error executing rma sync'),
    ('ERR_SERVICE', 48, 'unknown service name'),
    ('ERR_SIZE', 49, 'invalid size'),
    ('ERR_SPAWN', 50, 'could not spawn processes'),
    ('ERR_UNSUPPORTED_DATAREP', 51, 'data representation not supported'),
    ('ERR_UNSUPPORTED_OPERATION', 52, 'operation not supported'),
    ('ERR_WIN', 53, 'invalid window'),
    ('ERR_RMA_RANGE', 68, 'invalid RMA address range'),
    ('ERR_RMA_ATTACH', 69, 'Could not attach RMA segment'),
    ('ERR_RMA_FLAVOR', 70, 'Invalid type of window'),
    ('ERR_RMA_SHARED', 71, 'Memory cannot be shared'),
]
ERR_LASTCODE = 92
# MPI 4.x classes Open MPI 4.1 does not have: ERR_LASTCODE, as mpi4py 4.x defines them then
ERR_SESSION = ERR_ERRHANDLER = ERR_LASTCODE
_STRINGS = {code: 'MPI_%s: %s' % (name, text) for name, code, text in _TABLE}
_NAMES = {name: code for name, code, _ in _TABLE}
globals().update(_NAMES)
__all__ = list(_NAMES) + ['ERR_LASTCODE', 'ERR_SESSION', 'ERR_ERRHANDLER', 'Exception',
                          'Get_error_string', 'Get_error_class',
                          'Add_error_class', 'Add_error_code', 'Add_error_string',
                          'Remove_error_class', 'Remove_error_code', 'Remove_error_string']
_user_strings = {}
_user_classes = {}      # user error code -> its class
_last_used = [ERR_LASTCODE]


def Get_error_string(errorcode):
    """Error string for an error class or code ("" for a user one without a string)."""
    s = _user_strings.get(errorcode)
    if s is not None:
        return s
    return _STRINGS.get(errorcode, 'Unknown error (this should not happen!)')


def Get_error_class(errorcode):
    """Predefined error codes are their own classes; user codes name theirs."""
    return _user_classes.get(errorcode, errorcode)


def Add_error_class():
    _last_used[0] += 1
    code = _last_used[0]
    _user_classes[code] = code
    _user_strings[code] = ''
    return code


def Add_error_code(errorclass):
    code = Add_error_class()
    _user_classes[code] = errorclass
    return code


def Add_error_string(errorcode, string):
    _user_strings[errorcode] = string


# MPI 4.1 (mpi4py 4.x): a user class, code or string can be removed again; removing a
# class that still has codes or a string, or a code that still has a string, is an error
def Remove_error_class(errorclass):
    if _user_classes.get(errorclass) != errorclass or _user_strings.get(errorclass) or \
            any(c != errorclass and k == errorclass for c, k in _user_classes.items()):
        raise Exception(ERR_ARG)    # noqa: F405
    del _user_classes[errorclass]
    _user_strings.pop(errorclass, None)


def Remove_error_code(errorcode):
    if errorcode not in _user_classes or _user_classes[errorcode] == errorcode or \
            _user_strings.get(errorcode):
        raise Exception(ERR_ARG)    # noqa: F405
    del _user_classes[errorcode]
    _user_strings.pop(errorcode, None)


def Remove_error_string(errorcode):
    if errorcode not in _user_classes:
        raise Exception(ERR_ARG)    # noqa: F405
    _user_strings[errorcode] = ''


class Exception(RuntimeError):
    """MPI.Exception: an error class, comparable to int like mpi4py's."""

    def __init__(self, ierr=0):
        if ierr < 0 or ierr > 2**31:
            ierr = ERR_UNKNOWN
        self.ob_mpi = ierr
        RuntimeError.__init__(self, ierr)

    def __eq__(self, error):
        return self.ob_mpi == int(error)

    def __ne__(self, error):
        return self.ob_mpi != int(error)

    def __lt__(self, error):
        return self.ob_mpi < int(error)

    def __le__(self, error):
        return self.ob_mpi <= int(error)

    def __gt__(self, error):
        return self.ob_mpi > int(error)

    def __ge__(self, error):
        return self.ob_mpi >= int(error)

    def __hash__(self):
        return hash(self.ob_mpi)

    def __bool__(self):
        return self.ob_mpi != SUCCESS

    def __int__(self):
        return self.ob_mpi

    def __repr__(self):
        return 'MPI.Exception(%d)' % self.ob_mpi

    def __str__(self):
        # An agent-reported failure keeps the agent's words (they say which call failed).
        return getattr(self, 'agent_message', None) or Get_error_string(self.ob_mpi)

    def Get_error_code(self):
        return self.ob_mpi

    def Get_error_class(self):
        return Get_error_class(self.ob_mpi)

    def Get_error_string(self):
        return Get_error_string(self.ob_mpi)

    error_code = property(Get_error_code)
    error_class = property(Get_error_class)
    error_string = property(Get_error_string)


Exception.__module__ = 'mpi4py.MPI'


def agent_error(message):
    """An `{error}` reply: keep the agent's text, pick the class it names (if any)."""
    ierr = ERR_OTHER
    if isinstance(message, str) and message.startswith('MPI_ERR_'):
        ierr = _NAMES.get(message[4:].split(':')[0].split(' ')[0], ERR_OTHER)
    exc = Exception(ierr)
    exc.agent_message = message
    return exc
