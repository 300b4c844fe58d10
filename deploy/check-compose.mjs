// What the Compose Specification's schema cannot see in deploy/compose.yaml, checked with the
// same YAML reader (aliases resolved):
//
//   node deploy/check-compose.mjs COMPOSE.yaml CERTS_DIR [SERVICE]
//
// - every secret a service mounts is declared, and its file is one deploy/make-certs.sh
//   writes (CERTS_DIR holds a fresh run of it);
// - every OMS_*_FILE points into /run/secrets at a secret the service mounts;
// - no secret is inline: no environment variable named like a secret (…SECRET, …PASSWORD,
//   …TOKEN, …KEY, a database URL) carries a value, only its _FILE twin;
// - every connection the oms replicas make leaves in TLS: NATS `tls://`, SMTP STARTTLS or
//   `smtps://`, PostgreSQL `sslmode=verify-full` in the database URL secrets;
// - bind-mounted files exist, `depends_on` names services, and the oms image runs as the
//   user the Dockerfile creates.
//
// Prints one line per problem and exits 1 when there is any.
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";

const [file, certs, envOf] = process.argv.slice(2);
if (!file || !certs) {
  console.error("usage: node check-compose.mjs COMPOSE.yaml CERTS_DIR [SERVICE]");
  process.exit(2);
}
const here = path.dirname(path.resolve(file));
const compose = yaml.load(fs.readFileSync(file, "utf8"));

// With a SERVICE: print its environment as NAME=value lines, each /run/secrets/<target> path
// replaced by the file make-certs.sh wrote into CERTS_DIR for that secret, so that
// `oms serve --check-config` can judge the configuration outside a container.
if (envOf) {
  const service = compose.services[envOf];
  const files = {};
  for (const entry of service.secrets ?? []) {
    const source = typeof entry === "string" ? entry : entry.source;
    const target = typeof entry === "string" ? entry : (entry.target ?? entry.source);
    const relative = path.relative(path.join(here, "certs"), path.join(here, compose.secrets[source].file));
    files[`/run/secrets/${target}`] = path.join(certs, relative);
  }
  for (const [key, value] of Object.entries(service.environment ?? {})) {
    console.log(`${key}=${files[String(value)] ?? value}`);
  }
  process.exit(0);
}
const problems = [];
const problem = (where, what) => problems.push(`${where}: ${what}`);

const declared = compose.secrets ?? {};
for (const [name, secret] of Object.entries(declared)) {
  if (!secret.file) {
    problem(`secrets.${name}`, "not a file secret");
    continue;
  }
  // ./certs/... is what make-certs.sh writes; CERTS_DIR is a fresh run of it.
  const relative = path.relative(path.join(here, "certs"), path.join(here, secret.file));
  if (relative.startsWith("..")) problem(`secrets.${name}`, `${secret.file} is not under ./certs/ (make-certs.sh writes there)`);
  else if (!fs.existsSync(path.join(certs, relative))) problem(`secrets.${name}`, `make-certs.sh does not write ${secret.file}`);
}

const secretLike = /(SECRET|PASSWORD|TOKEN|_KEY|DATABASE_URL)$/;
const omsUrls = {};
for (const [name, service] of Object.entries(compose.services ?? {})) {
  const where = `services.${name}`;
  const mounted = new Map();
  for (const entry of service.secrets ?? []) {
    const source = typeof entry === "string" ? entry : entry.source;
    const target = typeof entry === "string" ? entry : (entry.target ?? entry.source);
    if (!(source in declared)) problem(where, `mounts secret ${source}, which secrets: does not declare`);
    mounted.set(target, source);
  }
  const env = Array.isArray(service.environment)
    ? Object.fromEntries(service.environment.map((kv) => [kv.split("=")[0], kv.split("=").slice(1).join("=")]))
    : (service.environment ?? {});
  for (const [key, value] of Object.entries(env)) {
    if (key.endsWith("_FILE")) {
      const target = String(value).startsWith("/run/secrets/") ? String(value).slice("/run/secrets/".length) : null;
      if (!target || !mounted.has(target)) problem(where, `${key}=${value} is not a secret this service mounts`);
    } else if (secretLike.test(key) && !(String(value).startsWith("/run/secrets/") && mounted.has(String(value).slice(13)))) {
      // A path to a mounted secret (mailpit's MP_SMTP_TLS_KEY) is fine; a value is not.
      problem(where, `${key} is set inline; mount a secret and set ${key}_FILE`);
    } else if (/postgres(ql)?:\/\/[^/@]*:[^/@]*@/.test(String(value))) {
      problem(where, `${key} carries a password in a URL; use a secret file`);
    }
    if (key.startsWith("OMS_") && key.endsWith("_URL")) omsUrls[`${name}.${key}`] = String(value);
  }
  for (const dependency of Object.keys(
    Array.isArray(service.depends_on) ? Object.fromEntries(service.depends_on.map((d) => [d, {}])) : (service.depends_on ?? {}),
  )) {
    if (!(dependency in compose.services)) problem(where, `depends_on ${dependency}, which is not a service`);
  }
  for (const volume of service.volumes ?? []) {
    const source = typeof volume === "string" ? volume.split(":")[0] : volume.source;
    if (source?.startsWith(".") && !fs.existsSync(path.join(here, source))) problem(where, `mounts ${source}, which does not exist`);
  }
  if (service.image === "oms:local" && service.user !== undefined) problem(where, "overrides the image's non-root user");
}

for (const [where, url] of Object.entries(omsUrls)) {
  const ok =
    (where.endsWith("OMS_NATS_URL") && url.startsWith("tls://")) ||
    (where.endsWith("OMS_SMTP_URL") && (url.startsWith("smtps://") || /[?&]tls=required(&|$)/.test(url))) ||
    /^https:\/\//.test(url);
  if (!ok) problem(`services.${where}`, `${url} is not TLS (the replicas listen beyond loopback and refuse plain text)`);
}
for (const name of ["database_url", "read_database_url"]) {
  const secretFile = path.join(certs, "secrets", name);
  if (!fs.existsSync(secretFile)) continue;
  const url = fs.readFileSync(secretFile, "utf8");
  if (!/[?&]sslmode=verify-full(&|$)/.test(url) || !/[?&]sslrootcert=\/run\/secrets\/ca\.pem(&|$)/.test(url)) {
    problem(`make-certs.sh ${name}`, "not sslmode=verify-full with sslrootcert=/run/secrets/ca.pem");
  }
}

const dockerfile = fs.readFileSync(path.join(here, "Dockerfile"), "utf8");
if (!/^USER 10001:10001$/m.test(dockerfile)) problem("Dockerfile", "does not run as uid 10001");

for (const line of problems) console.log(`compose check: ${line}`);
if (problems.length) process.exit(1);
console.log(`compose check: ${file}: ${Object.keys(compose.services).length} services, ${Object.keys(declared).length} secrets, no problem`);
