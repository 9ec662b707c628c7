// Node-API exports of the energy network (native/contrastive): createEnergyNet and the
// NativeEnergyNet class (the shared model methods of ModelWrap plus train, evaluate, predict,
// gradients). Arguments are validated here (TypeScript validated them first) and copied into a
// plain job that runs off the JS thread; errors reject with a typed `code`.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../contrastive/energy_net.h"
#include "async_job.h"
#include "binding_util.h"
#include "dataset_binding.h"
#include "exports_registry.h"
#include "pass_stats_js.h"

namespace bl {

namespace {

RelaxOptions relax_options(Napi::Env env, Napi::Value v) {
  RelaxOptions o;
  if (v.IsUndefined() || v.IsNull()) return o;
  Napi::Object ob = arg_object(env, v, "relaxation options");
  o.rule = parsed(env, [&] { return parse_cl_rule(read_string(env, ob, "rule", "ep")); });
  o.eps = static_cast<float>(read_number(env, ob, "stepSize", 0.5));
  o.free_steps = read_int(env, ob, "freeSteps", 1, 1 << 24, 30);
  o.nudged_steps = read_int(env, ob, "nudgedSteps", 1, 1 << 24, 10);
  o.beta = static_cast<float>(read_number(env, ob, "beta", 0.1));
  o.periods = read_int(env, ob, "periods", 1, 1 << 20, 1);
  o.pi = static_cast<float>(read_number(env, ob, "pi", 0.5));
  o.phases = read_int(env, ob, "phases", 1, 1 << 24, 2);
  o.phase_min = read_int(env, ob, "phaseMin", 1, 1 << 24, 5);
  o.phase_max = read_int(env, ob, "phaseMax", 1, 1 << 24, 15);
  o.trace_tau = static_cast<float>(read_number(env, ob, "traceTau", 2.0));
  o.tol = static_cast<float>(read_number(env, ob, "tolerance", 0.0));
  o.clip = static_cast<float>(read_number(env, ob, "clip", 0.0));
  o.rng_seed = read_seed(env, ob.Get("rngSeed"));
  o.log_unit = read_int(env, ob, "logUnit", -1, 1 << 30, -1);
  o.persistent = read_bool(env, ob, "persistent", false);
  o.step_updates = read_bool(env, ob, "stepUpdates", true);
  return o;
}

Napi::Object energy_stats_js(Napi::Env env, EnergyPassStats& s) {
  Napi::Object o = stats_to_js(env, s.stats);
  o.Set("residual", to_float32_array(env, std::move(s.residual)));
  o.Set("phaseLog", to_float32_array(env, std::move(s.phase_log)));
  o.Set("mPlus", s.m_plus);
  o.Set("mMinus", s.m_minus);
  o.Set("eSq", s.e_sq);
  o.Set("nPlus", s.n_plus);
  o.Set("nMinus", s.n_minus);
  return o;
}

std::vector<int32_t> sample_indices(Napi::Env env, Napi::Value v, int n) {
  std::vector<int32_t> out = copy_i32(env, v, "indices");
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i] < 0 || out[i] >= n)
      throw_js(env, "E_INVALID_ARG",
               "expected sample indices in [0, " + std::to_string(n) + "), got " + std::to_string(out[i]));
  if (out.empty()) throw_js(env, "E_EMPTY", "expected at least one sample index, got 0");
  return out;
}

class EnergyWrap : public ModelWrap<EnergyWrap, EnergyNet> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    define(env, exports, "NativeEnergyNet",
           {InstanceMethod<&EnergyWrap::Train>("train"), InstanceMethod<&EnergyWrap::Evaluate>("evaluate"),
            InstanceMethod<&EnergyWrap::Predict>("predict"), InstanceMethod<&EnergyWrap::Gradients>("gradients")});
  }
  explicit EnergyWrap(const Napi::CallbackInfo& info) : ModelWrap(info) {}

  // train(dataset, idx: Int32Array, batch, lr, opts) -> Promise<stats & {residual, phaseLog, ...}>
  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    auto ds = unwrap_dataset(env, info[0]);
    auto idx = sample_indices(env, info[1], ds->n);
    const int batch = arg_int(env, info[2], "batchSize", 1, 1 << 30);
    const double lr = arg_number(env, info[3], "lr");
    if (!(lr >= 0)) throw_js(env, "E_INVALID_ARG", "expected a finite learning rate >= 0, got " + std::to_string(lr));
    const RelaxOptions o = relax_options(env, info[4]);
    return result_job(
        env, [=, idx = std::move(idx)](EnergyNet& m) { return m.train(*ds, idx, batch, static_cast<float>(lr), o); },
        energy_stats_js);
  }

  // evaluate(dataset, batch, opts) -> Promise<stats & {residual}>
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    auto ds = unwrap_dataset(env, info[0]);
    const int batch = arg_int(env, info[1], "batchSize", 1, 1 << 30);
    const RelaxOptions o = relax_options(env, info[2]);
    return result_job(env, [=](EnergyNet& m) { return m.evaluate(*ds, batch, o); }, energy_stats_js);
  }

  // predict(dataset, idx, opts, wantStates) -> Promise<{outputs [n,O], states? [n, sum of layer widths]}>
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ds = unwrap_dataset(env, info[0]);
    auto idx = sample_indices(env, info[1], ds->n);
    const RelaxOptions o = relax_options(env, info[2]);
    const bool want_states = arg_bool_or(env, info[3], "wantStates", false);
    size_t width = 0;
    for (size_t k = 1; k < m->spec().sizes.size(); ++k) width += m->spec().sizes[k];
    const size_t n = idx.size();
    auto y = std::make_shared<std::vector<float>>(n * m->spec().sizes.back());
    auto s = std::make_shared<std::vector<float>>(want_states ? n * width : 0);
    return AsyncJob::run(
        env, [=, idx = std::move(idx)] { m->predict(*ds, idx, o, y->data(), want_states ? s->data() : nullptr); },
        [=](Napi::Env env) {
          Napi::Object res = Napi::Object::New(env);
          res.Set("outputs", to_float32_array(env, std::move(*y)));
          if (want_states) res.Set("states", to_float32_array(env, std::move(*s)));
          return res;
        },
        busy);
  }

  // gradients(dataset, idx, opts) -> Promise<{loss: stats & {...}, grads: {name: Float32Array}}>
  Napi::Value Gradients(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    auto ds = unwrap_dataset(env, info[0]);
    auto idx = sample_indices(env, info[1], ds->n);
    const RelaxOptions o = relax_options(env, info[2]);
    return gradients_job(
        env, [ds, idx = std::move(idx), o](EnergyNet& m) { return m.gradients(*ds, idx, o); }, energy_stats_js);
  }
};

std::vector<uint8_t> read_flags(Napi::Env env, Napi::Object o, const char* key, size_t L) {
  Napi::Array a = read_array(env, o, key);
  if (a.Length() != L) throw_js(env, "E_SHAPE", std::string("expected ") + std::to_string(L) + " entries in " + key);
  std::vector<uint8_t> out(L);
  for (uint32_t i = 0; i < L; ++i) out[i] = arg_bool(env, a.Get(i), key) ? 1 : 0;
  return out;
}

std::vector<InitSpec> read_inits(Napi::Env env, Napi::Object o, const char* key, size_t L) {
  Napi::Array a = read_array(env, o, key);
  if (a.Length() != L) throw_js(env, "E_SHAPE", std::string("expected ") + std::to_string(L) + " entries in " + key);
  std::vector<InitSpec> out;
  for (uint32_t i = 0; i < L; ++i) out.push_back(read_init(env, a.Get(i), key, InitSpec{}));
  return out;
}

// createEnergyNet(spec, backend) -> Promise<NativeEnergyNet>
Napi::Value CreateEnergyNet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = arg_object(env, info[0], "energy network spec");
  auto be = read_backend(env, info[1]);
  EnergySpec s;
  Napi::Array sizes = read_array(env, o, "sizes");
  if (sizes.Length() < 2) throw_js(env, "E_CONFIG", "expected at least an input and an output size");
  for (uint32_t i = 0; i < sizes.Length(); ++i) s.sizes.push_back(arg_int(env, sizes.Get(i), "layer size", 1, 1 << 24));
  const size_t L = s.sizes.size() - 1;
  s.act = parsed(env, [&] { return parse_act(read_string(env, o, "activation", "hard-sigmoid")); });
  s.out_act = parsed(env, [&] { return parse_act(read_string(env, o, "outputActivation", "identity")); });
  s.weight_init = read_inits(env, o, "weightInit", L);
  s.bias_init = read_inits(env, o, "biasInit", L);
  s.train_weight = read_flags(env, o, "trainWeight", L);
  s.train_bias = read_flags(env, o, "trainBias", L);
  s.seed = read_seed(env, o.Get("seed"));
  s.optimizer = read_optimizer(env, o.Get("optimizer"));
  return create_job<EnergyWrap, &EnergyWrap::model>(env, [=] { return std::make_shared<EnergyNet>(be, s); });
}

void InitEnergy(Napi::Env env, Napi::Object exports) {
  EnergyWrap::Init(env, exports);
  exports.Set("createEnergyNet", Napi::Function::New(env, CreateEnergyNet));
}

}  // namespace

BL_REGISTER_EXPORTS(InitEnergy);

}  // namespace bl
