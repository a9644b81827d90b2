// `/`: the admin server's front page, listing every endpoint with its help text.

#include "api/interpose/strings.h"
#include "source/admin/builtin_endpoints.h"

namespace interpose::admin {
namespace {

std::string htmlEscaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string indexPage(const EndpointTable& table) {
  std::string rows;
  for (const auto& e : table.endpoints()) {
    std::string path = htmlEscaped(e.prefix ? str::cat(e.path, "HOST[:PORT]") : e.path);
    // Only GETs without parameters make sense as links; the rest are shown as they are sent.
    std::string shown = e.method == "GET" && !e.prefix ? str::cat("<a href=\"", path, "\">", path, "</a>") : path;
    rows += str::cat("<tr><td><code>", e.method, "</code></td><td><code>", shown, "</code></td><td>",
                     htmlEscaped(e.help), "</td></tr>\n");
  }
  return str::cat(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Interpose admin</title>\n"
      "<style>body{font-family:sans-serif;margin:2em}td{padding:.2em 1em .2em 0;vertical-align:top}"
      "th{text-align:left}</style></head>\n<body><h1>Interpose admin</h1>\n"
      "<table><tr><th>method</th><th>path</th><th>what</th></tr>\n",
      rows, "</table>\n</body></html>\n");
}

}  // namespace

void addIndexEndpoint(EndpointTable& table) {
  table.add({"GET", "/", false, "this page: every admin endpoint",
             [&table](const Request&) { return Response::html(indexPage(table)); }});
}

}  // namespace interpose::admin
