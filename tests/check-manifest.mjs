// check-manifest: scripts/sockaudit-daemonset.yaml, checked as far as a
// machine without a cluster allows (make check-manifest).
//
//   node tests/check-manifest.mjs SOCKAUDIT MANIFEST
//
// 1. Against the Kubernetes API's own schema (the kubernetes-models
//    package, installed by scripts/deps.sh into build/npm).
// 2. What the schema cannot say: the selector picks the template's
//    pods, hostPID, the capabilities PRIVILEGES in sockaudit(8) names,
//    every mount read-only, every SOCKAUDIT_* directory under a mount.
// 3. The container's arguments run: SOCKAUDIT with them (listening on a
//    free loopback port instead) must serve /metrics with pod-grouped
//    series and stop with status 0 on SIGTERM.
// Prints one line per check; exit status 1 at the first that fails.
import { readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import net from "node:net";
import http from "node:http";

const require = createRequire(new URL("../build/npm/", import.meta.url));
const yaml = require("js-yaml");
// An ES module only: imported by its file (the package's exports map
// resolves from build/npm, not from tests/).
const { DaemonSet } = await import(
  new URL("../build/npm/node_modules/kubernetes-models/apps/v1/DaemonSet.js", import.meta.url)
);

const [sockaudit, manifest] = process.argv.slice(2);
if (!sockaudit || !manifest) {
  console.error("usage: node tests/check-manifest.mjs SOCKAUDIT MANIFEST");
  process.exit(2);
}

function fail(msg) {
  console.error(`check-manifest: ${msg}`);
  process.exit(1);
}
function ok(msg) {
  console.log(`ok: ${msg}`);
}

const docs = yaml.loadAll(readFileSync(manifest, "utf8"));
const ds = docs.find((d) => d && d.kind === "DaemonSet");
if (!ds) fail(`${manifest}: no DaemonSet`);
try {
  new DaemonSet(ds).validate();
} catch (e) {
  fail(`${manifest}: not a valid apps/v1 DaemonSet: ${e.message}`);
}
ok("apps/v1 DaemonSet schema");

const pod = ds.spec.template.spec;
const labels = ds.spec.template.metadata.labels || {};
for (const [k, v] of Object.entries(ds.spec.selector.matchLabels || {}))
  if (labels[k] !== v) fail(`selector ${k}=${v} does not pick the template's pods`);
ok("the selector picks the template's pods");
if (pod.hostPID !== true) fail("hostPID is not true: the node's processes are not seen");
ok("hostPID");

const c = pod.containers.find((x) => x.name === "sockaudit");
if (!c) fail("no container named sockaudit");
const caps = new Set(c.securityContext?.capabilities?.add || []);
for (const cap of ["SYS_PTRACE", "DAC_READ_SEARCH", "SYS_ADMIN"])
  if (!caps.has(cap)) fail(`capability ${cap} is not added`);
ok(`capabilities ${[...caps].join(" ")}`);
const mounts = c.volumeMounts || [];
for (const m of mounts) {
  if (m.readOnly !== true) fail(`mount ${m.mountPath} is not read-only`);
  if (!pod.volumes.some((v) => v.name === m.name)) fail(`mount ${m.name}: no such volume`);
}
ok(`${mounts.length} mounts, all read-only`);
const env = {};
for (const e of c.env || []) {
  if (!e.name.startsWith("SOCKAUDIT_")) continue;
  env[e.name] = e.value;
  if (!mounts.some((m) => e.value === m.mountPath || e.value.startsWith(m.mountPath + "/")))
    fail(`${e.name}=${e.value} is under no mount`);
}
ok(`${Object.keys(env).length} SOCKAUDIT_* directories, each under a mount`);

// 3. The arguments, run here.
const args = [...c.args];
const at = args.indexOf("--listen");
if (at < 0) fail("the container does not run the exporter (no --listen)");
const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const wantPort = c.ports.find((p) => p.name === "metrics")?.containerPort;
if (String(args[at + 1]).split(":").pop() !== String(wantPort))
  fail(`--listen ${args[at + 1]} is not the metrics port ${wantPort}`);
args[at + 1] = `127.0.0.1:${port}`;
const child = spawn(sockaudit, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
let stderr = "";
child.stderr.on("data", (d) => (stderr += d));
const exited = new Promise((resolve) => child.on("exit", (code, sig) => resolve({ code, sig })));

function get(path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, timeout: 60000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timed out")));
  });
}

let metrics;
for (let i = 0; i < 600 && !metrics; i++) {
  try {
    metrics = await get("/metrics");
  } catch {
    await new Promise((r) => setTimeout(r, 100));
  }
}
if (!metrics) {
  child.kill("SIGKILL");
  fail(`sockaudit ${args.join(" ")} never answered on port ${port}: ${stderr.trim()}`);
}
child.kill("SIGTERM");
const end = await exited;
if (metrics.status !== 200) fail(`/metrics answered ${metrics.status}`);
if (!/^sockaudit_sockets\{/m.test(metrics.body)) fail("/metrics has no sockaudit_sockets series");
if (!/^sockaudit_sockets\{[^}]*side="pod"/m.test(metrics.body))
  fail("/metrics has no series of side pod: --group-by pod not in effect");
if (end.code !== 0) fail(`the exporter stopped with ${end.code ?? end.sig} on SIGTERM: ${stderr.trim()}`);
ok(`sockaudit ${args.join(" ")}: /metrics 200 with pod groups, status 0 on SIGTERM`);
