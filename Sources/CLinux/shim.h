// Linux headers the Glibc module does not export: the HTTP server's event loop needs epoll and eventfd.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
