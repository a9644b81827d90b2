#include "source/http/http1/serializer.h"

#include <cstdio>

#include "api/interpose/strings.h"

namespace interpose::http1 {

void removeHopByHopHeaders(HeaderMap& headers) {
  // Fields the Connection header names are hop-by-hop too (RFC 9110 7.6.1).
  const std::string connection = headers.getJoined("connection");
  std::vector<std::string_view> named;
  for (std::string_view token : str::split(connection, ',')) {
    token = str::trim(token);
    if (!token.empty()) named.push_back(token);
  }
  static constexpr std::string_view kHopByHop[] = {
      "connection",        "proxy-connection",    "keep-alive",        "te", "trailer", "upgrade",
      "transfer-encoding", "proxy-authorization", "proxy-authenticate"};
  // One pass over the fields (names are stored lower-case).
  headers.removeIf([&](std::string_view name) {
    for (std::string_view h : kHopByHop) {
      if (name == h) return true;
    }
    for (std::string_view n : named) {
      if (str::equalsIgnoreCase(name, n)) return true;
    }
    return false;
  });
}

void writeFields(const HeaderMap& headers, Buffer& out) {
  std::string block;
  for (const auto& [name, value] : headers) {
    if (!name.empty() && name[0] == ':') continue;
    block.append(name).append(": ").append(value).append("\r\n");
  }
  block.append("\r\n");
  out.add(block);
}

void writeRequestHead(const HeaderMap& headers, std::string_view method, std::string_view target, Buffer& out) {
  out.add(str::cat(method, " ", target, " HTTP/1.1\r\n"));
  writeFields(headers, out);
}

void writeResponseHead(int status, const HeaderMap& headers, Buffer& out) {
  out.add(str::cat("HTTP/1.1 ", status, " ", reasonPhrase(status), "\r\n"));
  writeFields(headers, out);
}

void writeChunk(std::string_view data, Buffer& out) {
  if (data.empty()) return;
  char size[24];
  int n = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  out.add(std::string_view(size, static_cast<size_t>(n)));
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

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
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
    default:
      return "Unknown";
  }
}

}  // namespace interpose::http1
