// The encrypt sealer (encrypt_sealer.hpp): AES-256-GCM with OpenSSL 3 EVP, the keyring file and
// the replay table.
#include "encrypt_sealer.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include "cluster/sdk/boundary.hpp"

namespace cluster::encrypt {

using sdk::LogLevel;
using sdk::OpenStatus;
using sdk::Result;

const sdk::ConfigKey kKeys[3] = {
    {"keyring", sdk::ConfigType::string, "",
     "path of the keyring file: one base64 AES-256 key (32 bytes: openssl rand -base64 32) per line, the first "
     "is the primary; mode 0600 and owned by the member's user; required"},
    {"persist", sdk::ConfigType::boolean, "true",
     "rewrite the keyring file (atomically, mode 0600) after each install, use and remove"},
    {"window", sdk::ConfigType::integer, "30",
     "seconds a packet's timestamp may differ from our clock (1..86400); older or newer packets are stale"},
};

const sdk::ConfigRange kRanges[1] = {
    {"window", 1, 86400},
};

namespace {

constexpr std::string_view kIdContext = "cluster-encrypt key id v1";
/// Idle streams are forgotten this long after their newest packet went stale.
constexpr std::int64_t kIdleSlackMs = 5000;
/// At most one warning about a full replay table per this many ms.
constexpr std::int64_t kFullWarningMs = 10000;
/// A keyring file larger than this is refused (a key line is 45 bytes).
constexpr off_t kMaxFileSize = 1 << 20;
constexpr std::size_t kMaxBody = static_cast<std::size_t>(INT_MAX) - kOverhead;

/// Zeroes a buffer when it goes out of scope.
class Wipe {
 public:
  Wipe(void* p, std::size_t n) noexcept : p_(p), n_(n) {}
  explicit Wipe(std::string& s) noexcept : s_(&s) {}
  ~Wipe() {
    if (s_ != nullptr) OPENSSL_cleanse(s_->data(), s_->size());
    else OPENSSL_cleanse(p_, n_);
  }
  Wipe(const Wipe&) = delete;
  Wipe& operator=(const Wipe&) = delete;

 private:
  void* p_ = nullptr;
  std::size_t n_ = 0;
  std::string* s_ = nullptr;
};

class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

const unsigned char* bytes(std::string_view s) noexcept { return reinterpret_cast<const unsigned char*>(s.data()); }

void put_u32(unsigned char* p, std::uint32_t v) noexcept {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<unsigned char>(v & 0xff);
}
void put_u64(unsigned char* p, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<unsigned char>(v & 0xff);
}
std::uint64_t get_be(const unsigned char* p, std::size_t n) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

std::string_view trim(std::string_view s) noexcept {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_base64_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/// Decodes a 32-byte key from standard base64 (padded). On failure `why` tells what is wrong,
/// never quoting the text (it may be a key).
bool decode_key(std::string_view text, std::array<unsigned char, kKeySize>& key, std::string& why) {
  text = trim(text);
  std::size_t pads = 0;
  while (pads < 2 && pads < text.size() && text[text.size() - 1 - pads] == '=') ++pads;
  const std::string_view digits = text.substr(0, text.size() - pads);
  if (text.empty() || text.size() % 4 != 0 || !std::all_of(digits.begin(), digits.end(), is_base64_char)) {
    why = "not a base64 key (expected 44 characters of base64, e.g. the output of openssl rand -base64 32)";
    return false;
  }
  std::vector<unsigned char> out(text.size() / 4 * 3 + 1);
  Wipe wipe(out.data(), out.size());
  const int n = EVP_DecodeBlock(out.data(), bytes(text), static_cast<int>(text.size()));
  if (n < 0) {
    why = "not a base64 key";
    return false;
  }
  // EVP_DecodeBlock counts the padding as zero bytes.
  const std::size_t size = static_cast<std::size_t>(n) - pads;
  if (size != kKeySize) {
    why = "the key is " + std::to_string(size) + " bytes, not 32 (AES-256 needs 32 random bytes: openssl rand -base64 32)";
    return false;
  }
  std::memcpy(key.data(), out.data(), kKeySize);
  return true;
}

std::string encode_key(const unsigned char* key) {
  unsigned char buf[(kKeySize + 2) / 3 * 4 + 1];
  const int n = EVP_EncodeBlock(buf, key, static_cast<int>(kKeySize));
  std::string s(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
  OPENSSL_cleanse(buf, sizeof buf);
  return s;
}

bool compute_key_id(const unsigned char* key, std::size_t size, unsigned char* id) noexcept {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  const bool ok = md != nullptr && EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(md, kIdContext.data(), kIdContext.size()) == 1 &&
                  EVP_DigestUpdate(md, key, size) == 1 && EVP_DigestFinal_ex(md, digest, &len) == 1 &&
                  len >= kKeyIdSize;
  EVP_MD_CTX_free(md);
  if (ok) std::memcpy(id, digest, kKeyIdSize);
  return ok;
}

std::string hex(const unsigned char* p, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    s.push_back(digits[p[i] >> 4]);
    s.push_back(digits[p[i] & 0xf]);
  }
  return s;
}

std::string errno_text(int e) { return std::strerror(e); }

std::string octal_mode(mode_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string key_id_hex(const unsigned char* key, std::size_t size) {
  unsigned char id[kKeyIdSize];
  if (!compute_key_id(key, size, id)) return {};
  return hex(id, kKeyIdSize);
}

Result options_from(const sdk::PluginConfig& config, Options& out) {
  const std::string section = "[" + config.section() + "] ";
  out.keyring = std::string(trim(config.get("keyring")));
  if (out.keyring.empty())
    return Result::failure(section +
                           "keyring is empty: give the path of the keyring file (one base64 key per line, "
                           "made with: openssl rand -base64 32 > FILE; chmod 600 FILE)");
  out.persist = config.get_bool("persist");
  out.window_ms = config.get_int("window") * 1000;  // the host kept it in 1..86400
  return Result::success();
}

// ---- keys ----

struct EncryptSealer::Key {
  std::array<unsigned char, kKeySize> secret{};
  std::array<unsigned char, kKeyIdSize> id{};
  std::string id_hex;
  std::uint64_t opened = 0;
  /// Contexts with the cipher and the key set once; each packet sets only its nonce.
  EVP_CIPHER_CTX* enc = nullptr;
  EVP_CIPHER_CTX* dec = nullptr;

  Key() = default;
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  ~Key() {
    EVP_CIPHER_CTX_free(enc);  // clears the expanded key too
    EVP_CIPHER_CTX_free(dec);
    OPENSSL_cleanse(secret.data(), secret.size());
  }
};

EncryptSealer::EncryptSealer(sdk::SealerHost& host, Options options, Tuning tuning)
    : host_(host), options_(std::move(options)), tuning_(std::move(tuning)) {
  cipher_ = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
}

EncryptSealer::~EncryptSealer() {
  keys_.clear();
  EVP_CIPHER_free(cipher_);
}

namespace {

/// Feeds `aad | header` to GCM as additional data in one call when it fits a small buffer (the
/// core's envelope header always does): each EVP call costs about 0.1 us on OpenSSL 3, and GCM
/// hashes the same bytes whether they come in one call or two.
template <class Update>
bool add_aad(EVP_CIPHER_CTX* ctx, std::string_view aad, const unsigned char* header, Update update) {
  int len = 0;
  unsigned char joined[512];
  if (aad.size() + kHeaderSize <= sizeof joined) {
    std::memcpy(joined, aad.data(), aad.size());
    std::memcpy(joined + aad.size(), header, kHeaderSize);
    return update(ctx, nullptr, &len, joined, static_cast<int>(aad.size() + kHeaderSize)) == 1;
  }
  return update(ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) == 1 &&
         update(ctx, nullptr, &len, header, static_cast<int>(kHeaderSize)) == 1;
}

}  // namespace

std::int64_t EncryptSealer::now() const {
  if (tuning_.now_ms) return tuning_.now_ms();
  // The coarse clock (a few ms of resolution, no system call and cheaper than the precise one):
  // the timestamp only has to fall inside a window of seconds.
  timespec ts{};
  if (::clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0) ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::unique_ptr<EncryptSealer::Key> EncryptSealer::make_key(const unsigned char* secret) const {
  if (cipher_ == nullptr) return nullptr;
  auto key = std::make_unique<Key>();
  std::memcpy(key->secret.data(), secret, kKeySize);
  if (!compute_key_id(secret, kKeySize, key->id.data())) return nullptr;
  key->id_hex = hex(key->id.data(), key->id.size());
  key->enc = EVP_CIPHER_CTX_new();
  key->dec = EVP_CIPHER_CTX_new();
  if (key->enc == nullptr || key->dec == nullptr ||
      EVP_EncryptInit_ex(key->enc, cipher_, nullptr, key->secret.data(), nullptr) != 1 ||
      EVP_DecryptInit_ex(key->dec, cipher_, nullptr, key->secret.data(), nullptr) != 1)
    return nullptr;
  return key;
}

EncryptSealer::Key* EncryptSealer::find(const unsigned char* id) noexcept {
  for (auto& k : keys_)
    if (std::memcmp(k->id.data(), id, kKeyIdSize) == 0) return k.get();
  return nullptr;
}

std::string EncryptSealer::known_ids() const {
  std::string ids;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (i != 0) ids += ", ";
    ids += keys_[i]->id_hex;
    if (i == 0) ids += " (primary)";
  }
  return ids.empty() ? "none" : ids;
}

Result EncryptSealer::resolve(std::string_view text, std::size_t& index) const {
  text = trim(text);
  const bool is_id = text.size() == 2 * kKeyIdSize &&
                     std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  std::string id;
  if (is_id) {
    id.assign(text);
    for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  } else {
    std::array<unsigned char, kKeySize> secret{};
    Wipe wipe(secret.data(), secret.size());
    std::string why;
    if (!decode_key(text, secret, why)) {
      // Short texts are quoted (a mistyped id); longer ones may be a mistyped key: never quoted.
      const std::string quoted =
          text.size() < 2 * kKeyIdSize ? "'" + sdk::text::printable(text, 2 * kKeyIdSize) + "'" : "the text given";
      return Result::failure("encrypt: " + quoted + " is neither a key id (16 hex digits) nor a key (" + why +
                             "); known ids: " + known_ids());
    }
    id = key_id_hex(secret.data(), secret.size());
  }
  for (std::size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i]->id_hex == id) {
      index = i;
      return Result::success();
    }
  return Result::failure("encrypt: no key with id " + id + " in the keyring (known ids: " + known_ids() + ")");
}

// ---- the keyring file ----

Result EncryptSealer::load_file(std::vector<std::unique_ptr<Key>>& keys) const {
  const std::string& path = options_.keyring;
  const std::string file = "encrypt: keyring file '" + path + "'";
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    const int e = errno;
    if (e == ENOENT)
      return Result::failure(file + " does not exist (make one with: openssl rand -base64 32 > " + path +
                             "; chmod 600 " + path + ")");
    return Result::failure(file + " cannot be opened: " + errno_text(e));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Result::failure(file + " cannot be read: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return Result::failure(file + " is not a regular file");
  if ((st.st_mode & 077) != 0)
    return Result::failure(file + " has mode " + octal_mode(st.st_mode) +
                           ": its group and others must have no access to it (chmod 600 " + path + ")");
  if (st.st_uid != ::geteuid())
    return Result::failure(file + " is owned by uid " + std::to_string(st.st_uid) +
                           ", not by the user this member runs as (uid " + std::to_string(::geteuid()) +
                           "): chown it to that user");
  if (st.st_size > kMaxFileSize) return Result::failure(file + " is larger than 1 MiB: not a keyring");

  std::string text;
  Wipe wipe_text(text);
  text.reserve(static_cast<std::size_t>(st.st_size) + 1);  // no reallocation leaves copies behind
  char buf[4096];
  Wipe wipe_buf(buf, sizeof buf);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Result::failure(file + " cannot be read: " + errno_text(errno));
    }
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > static_cast<std::size_t>(kMaxFileSize))
      return Result::failure(file + " is larger than 1 MiB: not a keyring");
    text.append(buf, static_cast<std::size_t>(n));
  }

  keys.clear();
  std::vector<std::size_t> lines;
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line = trim(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = "encrypt: " + path + " line " + std::to_string(line_no) + ": ";
    std::array<unsigned char, kKeySize> secret{};
    Wipe wipe(secret.data(), secret.size());
    std::string why;
    if (!decode_key(line, secret, why)) return Result::failure(where + why);
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (CRYPTO_memcmp(keys[i]->secret.data(), secret.data(), kKeySize) == 0)
        return Result::failure(where + "the same key as line " + std::to_string(lines[i]) + " (id " +
                               keys[i]->id_hex + "): remove one of them");
    auto key = make_key(secret.data());
    if (key == nullptr) return Result::failure(where + "OpenSSL cannot set up AES-256-GCM with this key");
    keys.push_back(std::move(key));
    lines.push_back(line_no);
  }
  if (keys.empty())
    return Result::failure(file + " holds no key: put one base64 key per line (openssl rand -base64 32 >> " +
                           path + "); the first is the primary");
  return Result::success();
}

Result EncryptSealer::persist(const std::vector<const Key*>& order) const {
  if (!options_.persist) return Result::success();
  const std::string& path = options_.keyring;
  const std::string tmp = path + ".tmp";
  std::string text =
      "# cluster encrypt keyring: one base64 AES-256 key per line, the first is the primary.\n"
      "# Rewritten by the encrypt sealer after each install, use and remove. Keep it mode 0600.\n";
  Wipe wipe(text);
  text.reserve(text.size() + order.size() * (4 * ((kKeySize + 2) / 3) + 1));
  for (const Key* k : order) {
    std::string line = encode_key(k->secret.data());
    text += line;
    text += '\n';
    OPENSSL_cleanse(line.data(), line.size());
  }
  auto fail = [&](const std::string& what, int e) {
    ::unlink(tmp.c_str());
    return Result::failure("encrypt: cannot rewrite the keyring file '" + path + "' (" + what + ": " +
                           errno_text(e) + "); the keyring is unchanged");
  };
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return fail("remove the old " + tmp, errno);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600));
  if (fd.get() < 0) return fail("create " + tmp, errno);
  if (::fchmod(fd.get(), 0600) != 0) return fail("chmod " + tmp, errno);
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write " + tmp, errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("fsync " + tmp, errno);
  if (::close(fd.release()) != 0) return fail("close " + tmp, errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename " + tmp, errno);
  // The rename itself reaches the disk with the directory (best effort: the file is in place).
  Fd dir(::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return Result::success();
}

// ---- PacketSealer ----

Result EncryptSealer::start() noexcept {
  return sdk::guard("encrypt: start", [&] {
    if (cipher_ == nullptr) return Result::failure("encrypt: OpenSSL offers no AES-256-GCM");
    std::vector<std::unique_ptr<Key>> keys;
    if (Result r = load_file(keys); !r) return r;
    std::array<unsigned char, kEpochSize> epoch{};
    if (RAND_bytes(epoch.data(), static_cast<int>(epoch.size())) != 1)
      return Result::failure("encrypt: OpenSSL's random generator failed (RAND_bytes)");
    for (Lane& l : lanes_) {
      l.epoch = epoch;
      l.next = 0;
    }
    keys_ = std::move(keys);
    started_ = true;
    host_.log(LogLevel::info, "encrypt: " + std::to_string(keys_.size()) + " key(s) from " + options_.keyring +
                                  ", primary " + keys_.front()->id_hex);
    return Result::success();
  });
}

bool EncryptSealer::seal(std::string_view aad, std::string_view body, std::uint8_t lane, std::string& out) noexcept {
  if (!started_ || keys_.empty() || body.size() > kMaxBody || aad.size() > static_cast<std::size_t>(INT_MAX))
    return false;
  Key& key = *keys_.front();
  Lane& l = lanes_[lane];
  if (l.next > tuning_.counter_max) {
    // The counter would wrap: a fresh epoch, so no (key, nonce) is ever used twice.
    if (RAND_bytes(l.epoch.data(), static_cast<int>(l.epoch.size())) != 1) return false;
    l.next = 0;
  }
  const auto counter = static_cast<std::uint32_t>(l.next++);  // spent even if sealing fails below

  unsigned char header[kHeaderSize];
  header[0] = kVersion;
  std::memcpy(header + 1, key.id.data(), kKeyIdSize);
  unsigned char* nonce = header + 1 + kKeyIdSize;
  nonce[0] = lane;
  std::memcpy(nonce + 1, l.epoch.data(), kEpochSize);
  put_u32(nonce + 1 + kEpochSize, counter);
  std::int64_t sent = 0;
  try {
    sent = now();
  } catch (...) {
    return false;
  }
  put_u64(header + 1 + kKeyIdSize + kNonceSize, static_cast<std::uint64_t>(sent));

  EVP_CIPHER_CTX* ctx = key.enc;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1) return false;
  // `aad` may lie inside `out`: it is consumed before `out` grows.
  if (!add_aad(ctx, aad, header, EVP_EncryptUpdate)) return false;

  const std::size_t start = out.size();
  try {
    out.resize(start + kOverhead + body.size());
  } catch (...) {
    return false;
  }
  auto* dst = reinterpret_cast<unsigned char*>(out.data()) + start;
  std::memcpy(dst, header, kHeaderSize);
  unsigned char* ct = dst + kHeaderSize;
  int n = 0;
  int fin = 0;
  if ((body.empty() || EVP_EncryptUpdate(ctx, ct, &n, bytes(body), static_cast<int>(body.size())) == 1) &&
      EVP_EncryptFinal_ex(ctx, ct + n, &fin) == 1 && static_cast<std::size_t>(n + fin) == body.size() &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize), ct + body.size()) == 1)
    return true;
  out.resize(start);
  return false;
}

OpenStatus EncryptSealer::open(std::string_view aad, std::string_view sealed, std::string& body) noexcept {
  body.clear();
  if (sealed.size() < kOverhead || static_cast<std::uint8_t>(sealed[0]) != kVersion) return OpenStatus::malformed;
  const unsigned char* p = bytes(sealed);
  Key* key = find(p + 1);
  if (key == nullptr) return OpenStatus::unknown_key;
  const unsigned char* nonce = p + 1 + kKeyIdSize;
  const std::size_t ct_len = sealed.size() - kOverhead;
  if (ct_len > kMaxBody || aad.size() > static_cast<std::size_t>(INT_MAX)) return OpenStatus::malformed;

  // Authenticity first: nothing below touches the replay state of an unauthentic packet.
  EVP_CIPHER_CTX* ctx = key->dec;
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1) return OpenStatus::forged;
  if (!add_aad(ctx, aad, p, EVP_DecryptUpdate)) return OpenStatus::forged;
  try {
    body.resize(ct_len);
  } catch (...) {
    return OpenStatus::malformed;  // no status for "out of memory": it is not opened, and counted
  }
  auto* dst = reinterpret_cast<unsigned char*>(body.data());
  int n = 0;
  int fin = 0;
  unsigned char tag[kTagSize];
  std::memcpy(tag, p + kHeaderSize + ct_len, kTagSize);
  // DecryptFinal compares the tag in constant time (CRYPTO_memcmp).
  if ((ct_len != 0 && EVP_DecryptUpdate(ctx, dst, &n, p + kHeaderSize, static_cast<int>(ct_len)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize), tag) != 1 ||
      EVP_DecryptFinal_ex(ctx, dst + n, &fin) != 1 || static_cast<std::size_t>(n + fin) != ct_len) {
    body.clear();  // unauthentic plaintext never leaves
    return OpenStatus::forged;
  }

  const auto sent = static_cast<std::int64_t>(get_be(p + 1 + kKeyIdSize + kNonceSize, kTimeSize));
  std::int64_t now_ms = 0;
  try {
    now_ms = now();
  } catch (...) {
    body.clear();
    return OpenStatus::stale;
  }
  if (sent < now_ms - options_.window_ms || sent > now_ms + options_.window_ms) {
    body.clear();
    return OpenStatus::stale;
  }
  // The stream: epoch (7 bytes) then lane, in one word.
  const std::uint64_t stream = (get_be(nonce + 1, kEpochSize) << 8) | nonce[0];
  const auto counter = static_cast<std::uint32_t>(get_be(nonce + 1 + kEpochSize, 4));
  if (!accept(stream, counter, sent, now_ms)) {
    body.clear();
    return OpenStatus::replayed;
  }
  ++key->opened;
  return OpenStatus::ok;
}

// ---- the replay table ----

void EncryptSealer::evict_idle(std::int64_t now_ms) {
  // The least recently seen first; stops at the first stream still needed (the list is in
  // arrival order, the test is on timestamps, so a few may stay a little longer: never less).
  while (!recency_.empty()) {
    auto it = streams_.find(recency_.back());
    if (it != streams_.end() && now_ms - it->second.newest_sent <= options_.window_ms + kIdleSlackMs) break;
    if (it != streams_.end()) streams_.erase(it);
    recency_.pop_back();
  }
}

bool EncryptSealer::accept(std::uint64_t stream, std::uint32_t counter, std::int64_t sent, std::int64_t now_ms) {
  evict_idle(now_ms);
  constexpr std::size_t kWords = kReplayWindow / 64;
  auto bit = [](std::uint64_t c) { return std::pair<std::size_t, std::uint64_t>((c % kReplayWindow) / 64, 1ull << (c % 64)); };
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    // A new stream. Only key holders make entries: a packet gets here only after its tag was
    // checked under a key of ours and its timestamp found fresh, so nobody without a key can
    // fill the table. When it is full (65536 streams: restarts of every member times its lanes),
    // the least recently seen stream is dropped only if even its newest packet is stale: any
    // replay of it is refused as stale without the entry, so nothing is lost. Otherwise the new
    // stream is refused (a key holder flooding us): refusing is safe, forgetting is not.
    if (streams_.size() >= tuning_.max_streams && !recency_.empty()) {
      auto old = streams_.find(recency_.back());
      if (old != streams_.end() && now_ms - old->second.newest_sent <= options_.window_ms) {
        ++full_refused_;
        if (full_warned_ms_ == 0 || now_ms - full_warned_ms_ >= kFullWarningMs) {
          full_warned_ms_ = now_ms;
          try {
            host_.log(LogLevel::warning,
                      "encrypt: the replay table is full (" + std::to_string(streams_.size()) +
                          " sender streams, all seen within the window): packets of new streams are refused as "
                          "replayed (" + std::to_string(full_refused_) + " so far)");
          } catch (...) {
          }
        }
        return false;
      }
      if (old != streams_.end()) streams_.erase(old);
      recency_.pop_back();
    }
    try {
      auto [pos, inserted] = streams_.try_emplace(stream);
      (void)inserted;
      try {
        recency_.push_front(stream);
      } catch (...) {
        streams_.erase(pos);
        throw;
      }
      Stream& s = pos->second;
      s.position = recency_.begin();
      s.highest = counter;
      const auto [w, m] = bit(counter);
      s.seen[w] |= m;
      s.newest_sent = sent;
    } catch (...) {
      return false;  // out of memory: refused, never accepted untracked
    }
    return true;
  }
  Stream& s = it->second;
  if (counter > s.highest) {
    const std::uint64_t ahead = counter - s.highest;
    if (ahead >= kReplayWindow) {
      s.seen.fill(0);
    } else {
      // The bits of the counters entering the window held counters 1024 lower: clear them.
      for (std::uint64_t c = s.highest + 1; c <= counter; ++c) {
        const auto [w, m] = bit(c);
        s.seen[w] &= ~m;
      }
    }
    s.highest = counter;
  } else {
    if (s.highest - counter >= kReplayWindow) return false;  // below the window: assumed seen
    const auto [w, m] = bit(counter);
    if ((s.seen[w] & m) != 0) return false;
  }
  const auto [w, m] = bit(counter);
  s.seen[w] |= m;
  static_assert(kWords * 64 == kReplayWindow);
  s.newest_sent = std::max(s.newest_sent, sent);
  recency_.splice(recency_.begin(), recency_, s.position);
  return true;
}

// ---- Keyring ----

Result EncryptSealer::install(std::string_view text) noexcept {
  return sdk::guard("encrypt: install", [&] {
    if (!started_) return Result::failure("encrypt: the sealer has not started: no keyring yet");
    std::array<unsigned char, kKeySize> secret{};
    Wipe wipe(secret.data(), secret.size());
    std::string why;
    if (!decode_key(text, secret, why)) return Result::failure("encrypt: install: " + why);
    unsigned char id[kKeyIdSize];
    if (!compute_key_id(secret.data(), secret.size(), id)) return Result::failure("encrypt: install: SHA-256 failed");
    if (Key* held = find(id)) {
      if (CRYPTO_memcmp(held->secret.data(), secret.data(), kKeySize) == 0) return Result::success();
      return Result::failure("encrypt: install: another key with the same id " + held->id_hex +
                             " is installed (a 64-bit id collision): use another key");
    }
    auto key = make_key(secret.data());
    if (key == nullptr) return Result::failure("encrypt: install: OpenSSL cannot set up AES-256-GCM with this key");
    std::vector<const Key*> order;
    for (const auto& k : keys_) order.push_back(k.get());
    order.push_back(key.get());
    if (Result r = persist(order); !r) return r;
    const std::string id_hex = key->id_hex;
    keys_.push_back(std::move(key));
    host_.log(LogLevel::notice, "encrypt: installed key " + id_hex);
    return Result::success();
  });
}

Result EncryptSealer::use(std::string_view text) noexcept {
  return sdk::guard("encrypt: use", [&] {
    if (!started_) return Result::failure("encrypt: the sealer has not started: no keyring yet");
    std::size_t index = 0;
    if (Result r = resolve(text, index); !r) return r;
    if (index == 0) return Result::success();
    std::vector<const Key*> order{keys_[index].get()};
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (i != index) order.push_back(keys_[i].get());
    if (Result r = persist(order); !r) return r;
    std::rotate(keys_.begin(), keys_.begin() + static_cast<std::ptrdiff_t>(index),
                keys_.begin() + static_cast<std::ptrdiff_t>(index) + 1);
    host_.log(LogLevel::notice, "encrypt: key " + keys_.front()->id_hex + " is the primary now");
    return Result::success();
  });
}

Result EncryptSealer::remove(std::string_view text) noexcept {
  return sdk::guard("encrypt: remove", [&] {
    if (!started_) return Result::failure("encrypt: the sealer has not started: no keyring yet");
    std::size_t index = 0;
    if (Result r = resolve(text, index); !r) return r;
    if (index == 0)
      return Result::failure("encrypt: cannot remove the primary key; use another key first (key " +
                             keys_.front()->id_hex + ")");
    std::vector<const Key*> order;
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (i != index) order.push_back(keys_[i].get());
    if (Result r = persist(order); !r) return r;
    const std::string id_hex = keys_[index]->id_hex;
    keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(index));  // ~Key zeroes it
    host_.log(LogLevel::notice, "encrypt: removed key " + id_hex);
    return Result::success();
  });
}

std::vector<sdk::KeyInfo> EncryptSealer::list() const {
  std::vector<sdk::KeyInfo> out;
  out.reserve(keys_.size());
  for (std::size_t i = 0; i < keys_.size(); ++i) out.push_back({keys_[i]->id_hex, i == 0, keys_[i]->opened});
  return out;
}

}  // namespace cluster::encrypt
