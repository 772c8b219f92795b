// The system zlib (Debian: zlib1g-dev), for gzip bodies on the wire. deflateInit2/inflateInit2 are macros that pass
// the library version and the stream size; Swift cannot call macros, so they are wrapped here.
#include <zlib.h>

static inline int cpsync_deflate_init_gzip(z_stream *s, int level) {
    // 15 + 16: a 32 KiB window and the gzip wrapper (RFC 1952), not raw deflate or zlib.
    return deflateInit2(s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

static inline int cpsync_inflate_init_gzip(z_stream *s) {
    return inflateInit2(s, 15 + 16);
}
