// Boost.JSON compiled into this library once (header-only mode needs exactly one such TU).
#include <boost/json/src.hpp>
