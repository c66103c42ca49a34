#include "core/stored_files.hpp"

#include <fstream>
#include <system_error>

namespace parley::core {

namespace fs = std::filesystem;

Result<void> write_file_atomically(const fs::path& folder, const std::string& name,
                                   std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  const fs::path temporary = folder / ("." + name + ".part");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      fs::remove(temporary, ec);
      return fail(Errc::internal, "cannot write the uploaded file");
    }
  }
  fs::rename(temporary, folder / name, ec);
  if (ec) {
    fs::remove(temporary, ec);
    return fail(Errc::internal, "cannot store the uploaded file");
  }
  return {};
}

void remove_stored_file(const fs::path& folder, const std::optional<std::string>& name) {
  if (!name || name->empty() || name->find('/') != std::string::npos) return;
  std::error_code ec;
  fs::remove(folder / *name, ec);
}

}  // namespace parley::core
