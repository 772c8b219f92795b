#ifndef CPSYNC_CSQLITE_SHIM_H
#define CPSYNC_CSQLITE_SHIM_H
// Debian's libsqlite3 is built with the session extension and the pre-update hook; their declarations
// are hidden unless both macros are set before the include. Only the benchmark uses them.
#ifndef SQLITE_ENABLE_SESSION
#define SQLITE_ENABLE_SESSION 1
#endif
#ifndef SQLITE_ENABLE_PREUPDATE_HOOK
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#endif
#include <sqlite3.h>
#endif
