#include "outbound/curl_http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace parley::outbound {

namespace {

// RAII for libcurl's C handles (STYLE habit 7).
struct EasyDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

// Header fields above this size are an attack or a bug, never something we need.
constexpr std::size_t kMaxResponseHeaderBytes = 64 * 1024;

/// What the C callbacks write into while curl_easy_perform runs.
struct Transfer {
  std::size_t max_body_bytes = 0;
  bool body_too_large = false;
  bool headers_too_large = false;
  std::size_t header_bytes = 0;
  HttpResponse response;
};

// libcurl's write callback: returning anything other than `size * count` aborts the transfer
// with CURLE_WRITE_ERROR, which is how the body cap stops a stream without a Content-Length.
std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (transfer.response.body.size() + bytes > transfer.max_body_bytes) {
    transfer.body_too_large = true;
    return 0;
  }
  transfer.response.body.append(data, bytes);
  return bytes;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// libcurl's header callback: called once per header line, including the status line of every
// response (interim 1xx, and each hop when redirects are followed); only the last one counts.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  transfer.header_bytes += bytes;
  if (transfer.header_bytes > kMaxResponseHeaderBytes) {
    transfer.headers_too_large = true;
    return 0;
  }
  const std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    transfer.response.headers.clear();
    return bytes;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return bytes;  // blank line or junk
  transfer.response.headers.add(std::string(trim(line.substr(0, colon))),
                                std::string(trim(line.substr(colon + 1))));
  return bytes;
}

bool has_line_break(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos || text.find('\0') != text.npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
           c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' || c == '~';
  });
}

Error map_curl_error(CURLcode code, const Transfer& transfer, const char* detail) {
  const std::string reason =
      (detail != nullptr && detail[0] != '\0') ? std::string(detail) : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return fail(Errc::timeout, "outbound HTTP request timed out: " + reason);
    case CURLE_FILESIZE_EXCEEDED:
      return fail(Errc::payload_too_large, "outbound HTTP response body too large");
    case CURLE_WRITE_ERROR:
      if (transfer.body_too_large) {
        return fail(Errc::payload_too_large, "outbound HTTP response body too large");
      }
      if (transfer.headers_too_large) {
        return fail(Errc::payload_too_large, "outbound HTTP response headers too large");
      }
      return fail(Errc::internal, "outbound HTTP write failed: " + reason);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return fail(Errc::invalid_request, "outbound HTTP URL refused: " + reason);
    case CURLE_OUT_OF_MEMORY:
      return fail(Errc::internal, "outbound HTTP: " + reason);
    default:
      // DNS, refused or reset connections, TLS failures, truncated responses: the upstream is
      // not usable right now, which is what a caller needs to know.
      return fail(Errc::unavailable, "outbound HTTP request failed: " + reason);
  }
}

// curl_easy_setopt is variadic; these overloads make every call pass exactly the C type that
// the option expects (long, curl_off_t, pointer), which a bare literal would not.
CURLcode set_long(CURL* handle, CURLoption option, long value) {
  return curl_easy_setopt(handle, option, value);
}
CURLcode set_offset(CURL* handle, CURLoption option, curl_off_t value) {
  return curl_easy_setopt(handle, option, value);
}
CURLcode set_string(CURL* handle, CURLoption option, const char* value) {
  return curl_easy_setopt(handle, option, value);
}
CURLcode set_pointer(CURL* handle, CURLoption option, void* value) {
  return curl_easy_setopt(handle, option, value);
}
using DataCallback = std::size_t (*)(char*, std::size_t, std::size_t, void*);
CURLcode set_callback(CURL* handle, CURLoption option, DataCallback value) {
  return curl_easy_setopt(handle, option, value);
}

}  // namespace

CurlGlobalGuard::CurlGlobalGuard() {
  // Thread-safe (reference counted inside libcurl) only when libcurl says so; Debian's 7.88 does.
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if (info == nullptr || (info->features & CURL_VERSION_THREADSAFE) == 0) {
    throw std::runtime_error("libcurl is not built thread-safe (CURL_VERSION_THREADSAFE)");
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    throw std::runtime_error("curl_global_init failed");
  }
}

CurlGlobalGuard::~CurlGlobalGuard() { curl_global_cleanup(); }

CurlHttpClient::CurlHttpClient(CurlHttpClientOptions options) : options_(std::move(options)) {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  // CURLOPT_PROTOCOLS_STR needs 7.85; failing here beats silently allowing file:// later.
  if (info->version_num < 0x075500) {
    throw std::runtime_error("libcurl 7.85 or newer is required");
  }
  if (options_.connect_timeout.count() <= 0) {
    throw std::invalid_argument("CurlHttpClientOptions::connect_timeout must be positive");
  }
}

Result<HttpResponse> CurlHttpClient::send(const HttpRequest& request) {
  if (request.timeout.count() <= 0) {
    return fail(Errc::invalid_request, "outbound HTTP request needs a positive timeout");
  }
  if (!is_token(request.method)) {
    return fail(Errc::invalid_request, "outbound HTTP method is not a token");
  }
  if (has_line_break(request.url)) {
    return fail(Errc::invalid_request, "outbound HTTP URL contains a line break");
  }

  EasyHandle easy(curl_easy_init());
  if (!easy) return fail(Errc::internal, "curl_easy_init failed");
  CURL* const handle = easy.get();

  // Request headers. "Expect:" stops libcurl from waiting up to a second for "100 Continue"
  // before sending a large body.
  HeaderList header_list;
  auto append_header = [&](const std::string& line) {
    // curl_slist_append returns the (possibly new) head, or null and leaves the list intact.
    curl_slist* const head = header_list.release();
    curl_slist* const appended = curl_slist_append(head, line.c_str());
    header_list.reset(appended != nullptr ? appended : head);
    return appended != nullptr;
  };
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name) || has_line_break(value)) {
      // Never echo the value: it may be a credential.
      return fail(Errc::invalid_request, "outbound HTTP header is invalid: " + name);
    }
    if (!append_header(name + ": " + value)) return fail(Errc::internal, "curl_slist_append");
  }
  if (!request.headers.find("Expect") && !append_header("Expect:")) {
    return fail(Errc::internal, "curl_slist_append failed");
  }

  Transfer transfer;
  transfer.max_body_bytes = request.max_response_bytes;
  char error_buffer[CURL_ERROR_SIZE] = {};

  const long timeout_ms = static_cast<long>(request.timeout.count());
  const long connect_ms = std::min(timeout_ms, static_cast<long>(options_.connect_timeout.count()));

  CURLcode rc = CURLE_OK;
  auto apply = [&rc](CURLcode result) {
    if (rc == CURLE_OK) rc = result;
  };
  apply(set_string(handle, CURLOPT_URL, request.url.c_str()));
  apply(set_pointer(handle, CURLOPT_ERRORBUFFER, error_buffer));
  // Signals are process-wide; a library running on worker threads must not use them (libcurl
  // would otherwise use SIGALRM for DNS timeouts).
  apply(set_long(handle, CURLOPT_NOSIGNAL, 1L));
  apply(set_long(handle, CURLOPT_TIMEOUT_MS, timeout_ms));
  apply(set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, connect_ms));
  // Only http and https, also after redirects: no file://, gopher://, dict:// tricks.
  apply(set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"));
  apply(set_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
  apply(set_long(handle, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L));
  apply(set_long(handle, CURLOPT_MAXREDIRS, options_.max_redirects));
  // Fails early when Content-Length already announces too much; the write callback covers
  // chunked and lying responses.
  apply(set_offset(handle, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(request.max_response_bytes)));
  apply(set_string(handle, CURLOPT_USERAGENT, options_.user_agent.c_str()));
  apply(set_pointer(handle, CURLOPT_HTTPHEADER, header_list.get()));
  apply(set_callback(handle, CURLOPT_WRITEFUNCTION, &on_body));
  apply(set_pointer(handle, CURLOPT_WRITEDATA, &transfer));
  apply(set_callback(handle, CURLOPT_HEADERFUNCTION, &on_header));
  apply(set_pointer(handle, CURLOPT_HEADERDATA, &transfer));

  if (request.method == "GET" && request.body.empty()) {
    apply(set_long(handle, CURLOPT_HTTPGET, 1L));
  } else if (request.method == "HEAD") {
    apply(set_long(handle, CURLOPT_NOBODY, 1L));
  } else {
    if (request.method != "POST") {
      apply(set_string(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str()));
    }
    if (request.method == "POST" || !request.body.empty()) {
      // libcurl reads the body in place during curl_easy_perform; `request` outlives it.
      apply(set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size())));
      apply(set_string(handle, CURLOPT_POSTFIELDS, request.body.data()));
    }
  }
  if (rc != CURLE_OK) {
    return fail(Errc::internal, std::string("curl_easy_setopt failed: ") + curl_easy_strerror(rc));
  }

  rc = curl_easy_perform(handle);
  if (rc != CURLE_OK) return map_curl_error(rc, transfer, error_buffer);

  long status = 0;
  if (curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status <= 0) {
    return fail(Errc::unavailable, "outbound HTTP response has no status");
  }
  transfer.response.status = static_cast<int>(status);
  return std::move(transfer.response);
}

}  // namespace parley::outbound
