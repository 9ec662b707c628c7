// biaslearn_mpi.node: the MPI engine (OpenMPI or MPICH), built only where MPI is installed
// (native/mpi/mpi.cmake). It owns MPI_COMM_WORLD for the process: init, the collectives the
// TypeScript side calls on the JS thread (metrics, agreement checks, sweep results), abort and
// finalize, and the C ABI `bl_collective_v1()` (native/distributed/collective.h) through which
// the model modules sum gradients and partial logits on their worker threads.
//
// Pitfalls handled here: libmpi is promoted to RTLD_GLOBAL before MPI_Init (Node loads addons
// with RTLD_LOCAL, and OpenMPI's dlopen'ed components need libmpi's symbols); MPI is initialised
// with MPI_THREAD_SERIALIZED (calls come from the JS thread and from libuv workers, never two at
// once: one mutex serializes every call), and the provided level is checked.
#include <dlfcn.h>
#include <mpi.h>
#include <napi.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../distributed/collective.h"

namespace {

std::mutex mpi_mutex;
bool initialised = false;
int provided_level = -1;
BlCollective table{BL_COLLECTIVE_MAGIC, BL_COLLECTIVE_VERSION, 0, 1, nullptr, nullptr, 0};

struct CommStats {  // the C ABI's allreduces (worker threads): calls, payload bytes, seconds inside MPI
  double calls = 0, bytes = 0, seconds = 0;
} comm_stats;

std::string mpi_error_text(int code) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(buf, len);
}

template <typename T>
int allreduce_sum(T* data, size_t n, MPI_Datatype type, char* err, size_t err_len) {
  std::lock_guard<std::mutex> lock(mpi_mutex);
  const auto t0 = std::chrono::steady_clock::now();
  int rc = MPI_SUCCESS;
  if (!initialised) {
    rc = MPI_ERR_OTHER;
    std::snprintf(err, err_len, "MPI is not initialised (call distributed init first)");
    return rc;
  }
  // MPI counts are int: large buffers go in chunks (the same chunks on every rank).
  const size_t chunk = size_t(1) << 30;
  for (size_t off = 0; off < n && rc == MPI_SUCCESS; off += chunk)
    rc = MPI_Allreduce(MPI_IN_PLACE, data + off, static_cast<int>(std::min(chunk, n - off)), type, MPI_SUM,
                       MPI_COMM_WORLD);
  comm_stats.calls += 1;
  comm_stats.bytes += static_cast<double>(n * sizeof(T));
  comm_stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (rc != MPI_SUCCESS) std::snprintf(err, err_len, "MPI_Allreduce failed: %s", mpi_error_text(rc).c_str());
  return rc;
}

int allreduce_f32(float* data, size_t n, char* err, size_t err_len) {
  return allreduce_sum(data, n, MPI_FLOAT, err, err_len);
}
int allreduce_f64(double* data, size_t n, char* err, size_t err_len) {
  return allreduce_sum(data, n, MPI_DOUBLE, err, err_len);
}

[[noreturn]] void throw_js(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

void check(Napi::Env env, int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw_js(env, "E_DISTRIBUTED", std::string(what) + " failed: " + mpi_error_text(rc));
}

void require_init(Napi::Env env) {
  if (!initialised) throw_js(env, "E_DISTRIBUTED", "MPI is not initialised (call init() first)");
}

const char* level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE:
      return "single";
    case MPI_THREAD_FUNNELED:
      return "funneled";
    case MPI_THREAD_SERIALIZED:
      return "serialized";
    case MPI_THREAD_MULTIPLE:
      return "multiple";
    default:
      return "unknown";
  }
}

// Node dlopen()s addons RTLD_LOCAL; OpenMPI's components (mca_*.so) resolve libmpi's symbols
// globally. Re-opening the already loaded libmpi with RTLD_GLOBAL | RTLD_NOLOAD promotes it.
std::string promote_libmpi() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &info) || !info.dli_fname) return "";
  if (!dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD)) return "";
  return info.dli_fname;
}

Napi::Object world(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("rank", table.rank);
  o.Set("size", table.size);
  o.Set("threadLevel", level_name(provided_level));
  return o;
}

// init(): MPI_Init_thread(MPI_THREAD_SERIALIZED) once; {rank, size, threadLevel}.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(mpi_mutex);
  if (initialised) return world(env);
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    promote_libmpi();
    check(env, MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided_level), "MPI_Init_thread");
  } else {
    MPI_Query_thread(&provided_level);
  }
  if (provided_level < MPI_THREAD_SERIALIZED)
    throw_js(env, "E_DISTRIBUTED",
             std::string("the MPI library provides thread level '") + level_name(provided_level) +
                 "', biaslearn needs 'serialized' (training calls MPI from worker threads); use an MPI built "
                 "with thread support (Debian's OpenMPI and MPICH are)");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &table.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &table.size);
  table.allreduce_f32 = allreduce_f32;
  table.allreduce_f64 = allreduce_f64;
  initialised = true;
  return world(env);
}

// library(): {version: "3.1", library: MPI_Get_library_version, engine: "Open MPI" | "MPICH" | ...}.
Napi::Value Library(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(lib, &len);
  std::string text(lib, len);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0' || text.back() == ' ')) text.pop_back();
  int major = 0, minor = 0;
  MPI_Get_version(&major, &minor);
  Napi::Object o = Napi::Object::New(env);
  const std::string first = text.substr(0, text.find('\n'));
  o.Set("library", first);
  o.Set("standard", std::to_string(major) + "." + std::to_string(minor));
#if defined(OPEN_MPI)
  o.Set("engine", "Open MPI");
#elif defined(MPICH_VERSION)
  o.Set("engine", "MPICH");
#else
  o.Set("engine", "MPI");
#endif
  return o;
}

MPI_Op op_of(Napi::Env env, const Napi::Value& v) {
  const std::string op = v.IsString() ? v.As<Napi::String>().Utf8Value() : "sum";
  if (op == "sum") return MPI_SUM;
  if (op == "min") return MPI_MIN;
  if (op == "max") return MPI_MAX;
  throw_js(env, "E_INVALID_ARG", "expected op 'sum', 'min' or 'max', got '" + op + "'");
}

// allreduce(Float64Array, op = 'sum'): in place, on the JS thread (small payloads: metrics, checks).
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_init(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw_js(env, "E_INVALID_ARG", "expected a Float64Array");
  Napi::Float64Array a = info[0].As<Napi::Float64Array>();
  const MPI_Op op = op_of(env, info[1]);
  std::lock_guard<std::mutex> lock(mpi_mutex);
  check(env, MPI_Allreduce(MPI_IN_PLACE, a.Data(), static_cast<int>(a.ElementLength()), MPI_DOUBLE, op, MPI_COMM_WORLD),
        "MPI_Allreduce");
  return a;
}

// gatherStrings(text): rank 0 gets every rank's string in rank order, the others get [].
Napi::Value GatherStrings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_init(env);
  if (!info[0].IsString()) throw_js(env, "E_INVALID_ARG", "expected a string");
  const std::string s = info[0].As<Napi::String>().Utf8Value();
  const int n = table.size, me = table.rank;
  int len = static_cast<int>(s.size());
  std::vector<int> lens(n), offs(n);
  std::vector<char> all;
  {
    std::lock_guard<std::mutex> lock(mpi_mutex);
    check(env, MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
    size_t total = 0;
    for (int r = 0; r < n; ++r) {
      offs[r] = static_cast<int>(total);
      total += lens[r];
    }
    if (me == 0) all.resize(total + 1);
    check(env, MPI_Gatherv(s.data(), len, MPI_CHAR, all.data(), lens.data(), offs.data(), MPI_CHAR, 0, MPI_COMM_WORLD),
          "MPI_Gatherv");
  }
  Napi::Array out = Napi::Array::New(env, me == 0 ? n : 0);
  if (me == 0)
    for (int r = 0; r < n; ++r) out[r] = Napi::String::New(env, all.data() + offs[r], lens[r]);
  return out;
}

// broadcastString(text, root): root's string on every rank.
Napi::Value BroadcastString(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_init(env);
  std::string s = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  const int root = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  if (root < 0 || root >= table.size) throw_js(env, "E_INVALID_ARG", "root rank out of range");
  std::lock_guard<std::mutex> lock(mpi_mutex);
  int len = static_cast<int>(s.size());
  check(env, MPI_Bcast(&len, 1, MPI_INT, root, MPI_COMM_WORLD), "MPI_Bcast");
  s.resize(len);
  check(env, MPI_Bcast(s.data(), len, MPI_CHAR, root, MPI_COMM_WORLD), "MPI_Bcast");
  return Napi::String::New(env, s);
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_init(env);
  std::lock_guard<std::mutex> lock(mpi_mutex);
  check(env, MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  return env.Undefined();
}

// abort(code): MPI_Abort on the world (no lock: a worker may be blocked inside a collective).
Napi::Value Abort(const Napi::CallbackInfo& info) {
  const int code = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
  if (initialised) MPI_Abort(MPI_COMM_WORLD, code);
  return info.Env().Undefined();
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(mpi_mutex);
  int done = 0;
  MPI_Finalized(&done);
  if (initialised && !done) MPI_Finalize();
  initialised = false;
  return info.Env().Undefined();
}

// commStats(): the C ABI's allreduces since the last reset: {calls, bytes, seconds}.
Napi::Value CommStatsJs(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(mpi_mutex);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("calls", comm_stats.calls);
  o.Set("bytes", comm_stats.bytes);
  o.Set("seconds", comm_stats.seconds);
  if (info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value()) comm_stats = CommStats{};
  return o;
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("library", Napi::Function::New(env, Library));
  exports.Set("allreduce", Napi::Function::New(env, Allreduce));
  exports.Set("gatherStrings", Napi::Function::New(env, GatherStrings));
  exports.Set("broadcastString", Napi::Function::New(env, BroadcastString));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  exports.Set("commStats", Napi::Function::New(env, CommStatsJs));
  return exports;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const BlCollective* bl_collective_v1(void) { return &table; }

NODE_API_MODULE(biaslearn_mpi, InitModule)
