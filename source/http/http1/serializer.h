#pragma once

#include <string_view>

#include "api/interpose/buffer.h"
#include "api/interpose/header_map.h"

namespace interpose::http1 {

// Hop-by-hop fields (RFC 9110 7.6.1) plus the ones a proxy must never pass on; also every
// field named in Connection. Removes them from `headers`.
// `keep_te_trailers`: "TE: trailers" stays (it is end to end in meaning for HTTP/2 and gRPC
// needs it); the HTTP/1.1 upstream path drops it.
void removeHopByHopHeaders(HeaderMap& headers, bool keep_te_trailers = false);

// Writes a request line, a Host field first when `host` is given, the fields (pseudo-headers
// skipped), then `extra_fields` as writeFields does, to `out`.
void writeRequestHead(const HeaderMap& headers, std::string_view method, std::string_view target, Buffer& out,
                      std::string_view host = {}, std::string_view extra_fields = {});
// Writes a status line and fields (pseudo-headers skipped) to `out`.
void writeResponseHead(int status, const HeaderMap& headers, Buffer& out);
// Writes fields, then `extra_fields` (whole "name: value\r\n" lines, if any), then the final CRLF.
void writeFields(const HeaderMap& headers, Buffer& out, std::string_view extra_fields = {});

// Chunked transfer coding.
void writeChunk(std::string_view data, Buffer& out);
void writeLastChunk(const HeaderMap* trailers, Buffer& out);

std::string_view reasonPhrase(int status);

}  // namespace interpose::http1
