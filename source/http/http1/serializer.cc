#include "source/http/http1/serializer.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

#include "api/interpose/strings.h"

namespace interpose::http1 {

namespace {
// RFC 9110 7.6.1 and 11.7: fields that describe one connection, never forwarded. Names are
// stored lower-case, so a length switch and one comparison decide.
bool isHopByHopName(std::string_view name) {
  switch (name.size()) {
    case 2:
      return name == "te";
    case 7:
      return name == "trailer" || name == "upgrade";
    case 10:
      return name == "connection" || name == "keep-alive";
    case 16:
      return name == "proxy-connection";
    case 17:
      return name == "transfer-encoding";
    case 18:
      return name == "proxy-authenticate";
    case 19:
      return name == "proxy-authorization";
    default:
      return false;
  }
}

// Token from a Connection value, any case: whether it names a hop-by-hop field itself.
bool isHopByHopToken(std::string_view token) {
  char lower[24];
  if (token.size() > sizeof(lower)) return false;  // longer than any hop-by-hop name
  for (size_t i = 0; i < token.size(); ++i) lower[i] = str::lower(token[i]);
  return isHopByHopName(std::string_view(lower, token.size()));
}
}  // namespace

void removeHopByHopHeaders(HeaderMap& headers, bool keep_te_trailers) {
  bool any = false;
  // Fields the Connection header names are hop-by-hop too (RFC 9110 7.6.1). Usually it names
  // only itself ("keep-alive", "close"), so nothing is allocated unless it names others.
  std::vector<std::string> named;
  for (const auto& [name, value] : headers) {
    if (!isHopByHopName(name)) continue;
    any = true;
    if (name != "connection") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view token = str::trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      // A pseudo-header is no field a client can name: "Connection: :path" must not empty
      // the request's path (they are in the map already when this runs).
      if (!token.empty() && token[0] != ':' && !isHopByHopToken(token)) named.emplace_back(token);
    }
  }
  if (!any) return;
  const bool keep_te = keep_te_trailers && str::equalsIgnoreCase(str::trim(headers.getJoined("te")), "trailers");
  headers.removeIf([&](std::string_view name) {
    if (name == "te") return !keep_te;
    if (isHopByHopName(name)) return true;
    for (const std::string& n : named) {
      if (str::equalsIgnoreCase(name, n)) return true;
    }
    return false;
  });
}

void writeFields(const HeaderMap& headers, Buffer& out, std::string_view extra_fields) {
  // Sized first, then written in place: no intermediate string.
  size_t size = extra_fields.size() + 2;
  for (const auto& [name, value] : headers) {
    if (name.empty() || name[0] != ':') size += name.size() + value.size() + 4;
  }
  char* p = out.prepare(size);
  auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  for (const auto& [name, value] : headers) {
    if (!name.empty() && name[0] == ':') continue;
    put(name);
    put(": ");
    put(value);
    put("\r\n");
  }
  if (!extra_fields.empty()) put(extra_fields);
  put("\r\n");
  out.commit(size);
}

void writeRequestHead(const HeaderMap& headers, std::string_view method, std::string_view target, Buffer& out,
                      std::string_view host, std::string_view extra_fields) {
  out.add(method);
  out.add(" ");
  out.add(target);
  out.add(" HTTP/1.1\r\n");
  if (!host.empty()) {
    out.add("host: ");
    out.add(host);
    out.add("\r\n");
  }
  writeFields(headers, out, extra_fields);
}

void writeResponseHead(int status, const HeaderMap& headers, Buffer& out) {
  // to_chars, not snprintf: this runs for every response, and snprintf costs more than the
  // rest of the status line together.
  char line[24] = "HTTP/1.1 ";
  char* end = std::to_chars(line + 9, line + sizeof(line) - 1, status).ptr;
  *end++ = ' ';
  out.add(std::string_view(line, static_cast<size_t>(end - line)));
  out.add(reasonPhrase(status));
  out.add("\r\n");
  writeFields(headers, out);
}

void writeChunk(std::string_view data, Buffer& out) {
  if (data.empty()) return;
  char size[24];
  char* end = std::to_chars(size, size + sizeof(size) - 2, data.size(), 16).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.add(std::string_view(size, static_cast<size_t>(end - size)));
  out.add(data);
  out.add("\r\n");
}

void writeLastChunk(const HeaderMap* trailers, Buffer& out) {
  out.add("0\r\n");
  if (trailers) {
    writeFields(*trailers, out);
  } else {
    out.add("\r\n");
  }
}

// Every status in the IANA registry (RFC 9110 and the RFCs it points to), so no reply
// that Interpose makes or passes on reads "Unknown" for a registered code.
std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 102:
      return "Processing";
    case 103:
      return "Early Hints";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 205:
      return "Reset Content";
    case 206:
      return "Partial Content";
    case 207:
      return "Multi-Status";
    case 208:
      return "Already Reported";
    case 226:
      return "IM Used";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 305:
      return "Use Proxy";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 423:
      return "Locked";
    case 424:
      return "Failed Dependency";
    case 425:
      return "Too Early";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 451:
      return "Unavailable For Legal Reasons";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    case 506:
      return "Variant Also Negotiates";
    case 507:
      return "Insufficient Storage";
    case 508:
      return "Loop Detected";
    case 510:
      return "Not Extended";
    case 511:
      return "Network Authentication Required";
    default:
      return "Unknown";
  }
}

}  // namespace interpose::http1
