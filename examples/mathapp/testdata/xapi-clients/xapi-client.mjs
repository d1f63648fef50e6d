// An xAPI client as an app vendor writes it with @xapi/xapi, run by the math
// app's Go tests against the example LMS through the math app's localhost
// proxy. It exercises the Statement resource (one, an array, by id, a query
// with filters paged by `more`, voiding), State (set, merge, ids, delete),
// Agent Profile and Activity Profile (with ETag concurrency) and /about,
// asserting what the library sees, and prints a JSON summary for the Go
// test to check against the LMS.
//
// Usage: node xapi-client.mjs '{"endpoint": ".../xapi/", "auth": "Bearer ...",
//   "homePage": "https://lms.example", "learner": "u-learner-1", "secret": ""}'
// A secret, when given, goes to the proxy in the Httpipc-Secret header.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import axios from "axios";
import XAPI from "@xapi/xapi";

// A failed request is reported in one line (method, URL, status, body),
// not as the library's whole error object.
process.on("uncaughtException", (e) => {
  if (e.isAxiosError) {
    const r = e.response;
    console.error(`${e.config.method.toUpperCase()} ${e.config.url}: ${r ? `${r.status} ${JSON.stringify(r.data)}` : e.message}`);
  } else {
    console.error(e);
  }
  process.exit(1);
});

const cfg = JSON.parse(process.argv[2]);
// The library's adapter hook: its own requests, made with axios as its
// default adapter makes them, plus the proxy's secret header.
const adapter = cfg.secret
  ? (req) =>
      axios
        .request({ ...req, headers: { ...req.headers, "Httpipc-Secret": cfg.secret } })
        .then(({ data, headers, status }) => ({ data, headers, status }))
  : undefined;
const xapi = new XAPI({ endpoint: cfg.endpoint, auth: cfg.auth, adapter });
const actor = { objectType: "Agent", account: { homePage: cfg.homePage, name: cfg.learner } };
const run = randomUUID();
const activity = `https://math.example/xapi-client/${run}`;
const question = (n) => `${activity}/q${n}`;
const answered = XAPI.Verbs.ANSWERED;
const registration = randomUUID();

// status runs a request and returns its status, whether the library
// resolved it or threw on a 4xx.
async function status(request) {
  try {
    return (await request).status;
  } catch (e) {
    if (!e.response) throw e;
    return e.response.status;
  }
}

const out = { activity, registration };

// /about
{
  const about = await xapi.getAbout();
  assert.ok(about.data.version.includes("1.0.3"), `about: ${JSON.stringify(about.data)}`);
  assert.equal(about.headers["x-experience-api-version"], "1.0.3");
}

// One statement, then an array of five, each with the id the client chose.
{
  const one = await xapi.sendStatement({
    statement: {
      actor,
      verb: XAPI.Verbs.COMPLETED,
      object: { objectType: "Activity", id: activity, definition: { name: { "en-US": "Fractions drill" } } },
      result: { score: { scaled: 0.75 }, success: true, completion: true },
      context: { registration },
    },
  });
  assert.equal(one.data.length, 1);
  out.one = one.data[0];

  const batch = [1, 2, 3, 4, 5].map((n) => ({
    id: randomUUID(),
    actor,
    verb: answered,
    object: { objectType: "Activity", id: question(n) },
    result: { response: String(n), success: n % 2 === 1 },
    context: { registration, contextActivities: { parent: [{ id: activity }] } },
  }));
  const sent = await xapi.sendStatements({ statements: batch });
  assert.deepEqual(sent.data, batch.map((s) => s.id));
  out.batch = sent.data;

  const back = await xapi.getStatement({ statementId: out.one });
  assert.equal(back.data.id, out.one);
  assert.equal(back.data.verb.id, XAPI.Verbs.COMPLETED.id);
  assert.equal(back.data.result.score.scaled, 0.75);
  assert.ok(back.data.stored && back.data.timestamp, "stored and timestamp are set");
  const ids = await xapi.getStatement({ statementId: out.batch[0], format: "ids" });
  assert.deepEqual(ids.data.verb, { id: answered.id });
}

// A query with filters, paged by `more` two at a time, oldest first.
async function query(params) {
  const seen = [];
  let page = await xapi.getStatements(params);
  const pages = [page.data.statements.length];
  seen.push(...page.data.statements.map((s) => s.id));
  while (page.data.more) {
    page = await xapi.getMoreStatements({ more: page.data.more });
    pages.push(page.data.statements.length);
    seen.push(...page.data.statements.map((s) => s.id));
  }
  return { seen, pages };
}
{
  const filters = { agent: actor, verb: answered.id, activity, related_activities: true, registration, ascending: true, limit: 2 };
  const { seen, pages } = await query(filters);
  assert.deepEqual(seen, out.batch);
  assert.deepEqual(pages, [2, 2, 1]);
  // Without related_activities, the activity filter matches the object only.
  const only = await xapi.getStatements({ activity, agent: actor });
  assert.deepEqual(only.data.statements.map((s) => s.id), [out.one]);
  assert.equal(only.data.more, "");
}

// Voiding: the voided statement is gone from GET by id and from queries,
// readable as voidedStatementId; the voiding statement matches the query
// through its target.
{
  const target = out.batch[2];
  const voided = await xapi.voidStatement({ actor, statementId: target });
  out.voiding = voided.data[0];
  out.voided = target;
  assert.equal(await status(xapi.getStatement({ statementId: target })), 404);
  const v = await xapi.getVoidedStatement({ voidedStatementId: target });
  assert.equal(v.data.id, target);
  const { seen } = await query({ verb: answered.id, activity, related_activities: true, ascending: true, limit: 2 });
  assert.deepEqual(seen, [...out.batch.filter((id) => id !== target), out.voiding]);
  // A voiding statement cannot be voided.
  assert.equal(await status(xapi.voidStatement({ actor, statementId: out.voiding })), 400);
}

// State: set, read, merge, list ids, delete one and all.
{
  const where = { agent: actor, activityId: activity, registration };
  await xapi.setState({ ...where, stateId: "progress", state: { page: 3, answers: { q1: "1" } } });
  assert.deepEqual((await xapi.getState({ ...where, stateId: "progress" })).data, { page: 3, answers: { q1: "1" } });
  await xapi.createState({ ...where, stateId: "progress", state: { page: 4, done: false } });
  const merged = await xapi.getState({ ...where, stateId: "progress" });
  assert.deepEqual(merged.data, { page: 4, answers: { q1: "1" }, done: false });
  assert.match(merged.headers.etag, /^"[0-9a-f]{40}"$/);
  await xapi.setState({ ...where, stateId: "bookmark", state: "q4", contentType: "text/plain" });
  assert.equal((await xapi.getState({ ...where, stateId: "bookmark" })).data, "q4");
  assert.deepEqual((await xapi.getStates(where)).data.sort(), ["bookmark", "progress"]);
  // Another registration's state is not listed.
  assert.deepEqual((await xapi.getStates({ ...where, registration: randomUUID() })).data, []);
  await xapi.deleteState({ ...where, stateId: "bookmark" });
  assert.deepEqual((await xapi.getStates(where)).data, ["progress"]);
  await xapi.setState({ agent: actor, activityId: activity, stateId: "kept", state: { across: "registrations" } });
  await xapi.deleteStates(where);
  assert.deepEqual((await xapi.getStates(where)).data, []);
  assert.equal(await status(xapi.getState({ ...where, stateId: "progress" })), 404);
  out.keptState = "kept";
}

// A profile resource (Agent Profile or Activity Profile), with the ETag
// concurrency the spec asks of them. keep leaves the last version stored.
async function profile(name, ops, keep) {
  const id = `${name}-settings`;
  const create = await status(ops.set({ profileId: id, profile: { theme: "dark" }, etag: "*", matchHeader: "If-None-Match" }));
  assert.equal(create, 204, `${name}: create`);
  // Created already: If-None-Match * fails, and a PUT with no condition
  // is refused.
  assert.equal(await status(ops.set({ profileId: id, profile: { theme: "light" }, etag: "*", matchHeader: "If-None-Match" })), 412, `${name}: create again`);
  assert.equal(await status(ops.set({ profileId: id, profile: { theme: "light" } })), 409, `${name}: PUT without a condition`);
  let doc = await ops.get({ profileId: id });
  assert.deepEqual(doc.data, { theme: "dark" });
  const first = doc.headers.etag;
  // Replace with the right ETag; the old one then no longer matches.
  assert.equal(await status(ops.set({ profileId: id, profile: { theme: "light", font: "large" }, etag: first, matchHeader: "If-Match" })), 204);
  assert.equal(await status(ops.set({ profileId: id, profile: { theme: "sepia" }, etag: first, matchHeader: "If-Match" })), 412, `${name}: stale If-Match`);
  doc = await ops.get({ profileId: id });
  assert.deepEqual(doc.data, { theme: "light", font: "large" });
  assert.notEqual(doc.headers.etag, first);
  // Merge (POST) under the current ETag.
  await ops.create({ profileId: id, profile: { sound: "off" }, etag: doc.headers.etag, matchHeader: "If-Match" });
  doc = await ops.get({ profileId: id });
  assert.deepEqual(doc.data, { theme: "light", font: "large", sound: "off" });
  await ops.set({ profileId: `${name}-other`, profile: { x: 1 }, etag: "*", matchHeader: "If-None-Match" });
  assert.deepEqual((await ops.list()).data.sort(), [`${name}-other`, id].sort());
  // Delete: a stale ETag is refused, the current one works.
  assert.equal(await status(ops.del({ profileId: `${name}-other`, etag: first })), 412, `${name}: delete with a stale ETag`);
  const other = await ops.get({ profileId: `${name}-other` });
  assert.equal(await status(ops.del({ profileId: `${name}-other`, etag: other.headers.etag })), 204);
  assert.equal(await status(ops.get({ profileId: `${name}-other` })), 404);
  if (!keep) {
    assert.equal(await status(ops.del({ profileId: id, etag: doc.headers.etag })), 204);
    assert.deepEqual((await ops.list()).data, []);
  }
  return { id, etag: doc.headers.etag, content: doc.data };
}
out.agentProfile = await profile("agent", {
  set: (p) => xapi.setAgentProfile({ agent: actor, ...p }),
  create: (p) => xapi.createAgentProfile({ agent: actor, ...p }),
  get: (p) => xapi.getAgentProfile({ agent: actor, ...p }),
  del: (p) => xapi.deleteAgentProfile({ agent: actor, ...p }),
  list: () => xapi.getAgentProfiles({ agent: actor }),
}, false);
out.activityProfile = await profile("activity", {
  set: (p) => xapi.setActivityProfile({ activityId: activity, ...p }),
  create: (p) => xapi.createActivityProfile({ activityId: activity, ...p }),
  get: (p) => xapi.getActivityProfile({ activityId: activity, ...p }),
  del: (p) => xapi.deleteActivityProfile({ activityId: activity, ...p }),
  list: () => xapi.getActivityProfiles({ activityId: activity }),
}, true);

process.stdout.write(JSON.stringify(out) + "\n");
