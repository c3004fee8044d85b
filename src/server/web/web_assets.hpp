// The web page served at `/` (index.html, app.js, style.css from this folder), compiled into the binary
// so `talkgen serve` needs no files beside it. The bytes are generated at build time by
// embed_web_assets.cmake (see CMakeLists.txt here); editing a page file rebuilds only that library.
//
// "/" is index.html with the CSS and script inlined: one response starts the page. The page holds no
// data, so a server may serve these paths without the bearer token (the page asks for the token, keeps
// it in sessionStorage and sends it with every API call); a server that guards them too still works when
// the page is opened as /?access_token=TOKEN.
#pragma once

#include <optional>
#include <string_view>

namespace talkgen::server {

struct WebAsset {
  std::string_view body;          ///< the file's bytes (static storage: valid for the whole process)
  std::string_view content_type;  ///< e.g. "text/html; charset=utf-8"
};

/// The page file for a request path: "/" and "/index.html" -> the page, "/app.js", "/style.css".
/// A query string ("/app.js?v=2") is ignored. nullopt for anything else (the caller answers 404).
std::optional<WebAsset> find_web_asset(std::string_view path);

}  // namespace talkgen::server
