/* Fabu command-center dashboard.
 *
 * Reads the public API like any client: GET /me, GET /events?last=, GET /incidents?status=active,
 * then WS /live?after=SEQ. Every countdown is computed from the obligation's due_at and the
 * server's clock (offset measured on GET /events), so a wrong wall-screen clock does not lie.
 * The token stays in sessionStorage (gone when the browser closes) unless the officer ticks
 * "stay signed in on this screen", meant for a wall display that must come back by itself
 * after a power cut; then it is kept in localStorage until signing out or a 401. It is
 * offered to the WebSocket as a subprotocol, so it never appears in a URL or an access log.
 */
(function () {
  "use strict";

  // -- labels ----------------------------------------------------------------------------

  const TEXT = {
    zh: {
      app_title: "突发事件信息发布指挥看板",
      login_hint: "请输入本单位的访问令牌",
      token_label: "访问令牌",
      login: "登录",
      logout: "退出",
      lang_toggle: "English",
      login_bad: "令牌无效或已撤销",
      login_net: "无法连接服务器，请稍后再试",
      login_checking: "正在验证…",
      remember: "在此屏幕上保持登录（值守大屏）",
      filter_label: "按市（州）筛选",
      all_prefectures: "全省（全部市州）",
      all_jurisdiction: "全部辖区",
      active_incidents: "进行中的突发事件",
      feed: "最新动态",
      empty: "辖区内暂无进行中的突发事件",
      feed_empty: "暂无动态",
      responsible: "发布责任单位",
      occurred: "发生于",
      overdue: "逾期",
      due_at: "截止",
      no_open: "暂无待办时限",
      stat_overdue: "逾期时限",
      level_short_I: "Ⅰ级", level_short_II: "Ⅱ级", level_short_III: "Ⅲ级", level_short_IV: "Ⅳ级",
      conn_connecting: "正在连接…",
      conn_live: "实时连接",
      conn_retry: "{s} 秒后重连",
      conn_lost: "连接中断",
      days: "天",
      escalated: "已提级",
      command: "现场指挥部",
      cosigners: "会签",
      opinion_major: "舆情重大",
      opinion_rising: "舆情上升",
      count: "{n} 起",
      unknown_incident: "（事件）",
      weekdays: ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
    },
    en: {
      app_title: "Fabu · Release Command Center",
      login_hint: "Enter your organ's access token",
      token_label: "Access token",
      login: "Sign in",
      logout: "Sign out",
      lang_toggle: "中文",
      login_bad: "The token is unknown or revoked",
      login_net: "Cannot reach the server; try again shortly",
      login_checking: "Checking…",
      remember: "Stay signed in on this screen (wall display)",
      filter_label: "Filter by prefecture",
      all_prefectures: "Whole province",
      all_jurisdiction: "Whole jurisdiction",
      active_incidents: "Active incidents",
      feed: "Latest events",
      empty: "No active incident in this jurisdiction",
      feed_empty: "Nothing yet",
      responsible: "Responsible",
      occurred: "occurred",
      overdue: "overdue",
      due_at: "due",
      no_open: "No open obligation",
      stat_overdue: "Overdue",
      level_short_I: "Level I", level_short_II: "Level II", level_short_III: "Level III", level_short_IV: "Level IV",
      conn_connecting: "Connecting…",
      conn_live: "Live",
      conn_retry: "Retry in {s} s",
      conn_lost: "Disconnected",
      days: "d",
      escalated: "Escalated",
      command: "On-site command",
      cosigners: "Co-signers",
      opinion_major: "Opinion: major",
      opinion_rising: "Opinion: rising",
      count: "{n}",
      unknown_incident: "(incident)",
      weekdays: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
    },
  };

  const LEVELS = {
    I: { zh: "Ⅰ级 特别重大", en: "I · Particularly serious" },
    II: { zh: "Ⅱ级 重大", en: "II · Major" },
    III: { zh: "Ⅲ级 较大", en: "III · Larger" },
    IV: { zh: "Ⅳ级 一般", en: "IV · General" },
  };
  const LEVEL_RANK = { I: 4, II: 3, III: 2, IV: 1 };

  const CATEGORIES = {
    natural_disaster: { zh: "自然灾害", en: "Natural disaster" },
    accident: { zh: "事故灾难", en: "Accident" },
    public_health: { zh: "公共卫生事件", en: "Public health" },
    social_security: { zh: "社会安全事件", en: "Social security" },
  };

  const OBLIGATIONS = {
    first_release: { zh: "首次信息发布", en: "First release" },
    press_conference: { zh: "新闻发布会", en: "Press conference" },
    follow_up: { zh: "后续发布", en: "Follow-up release" },
    opinion_response: { zh: "舆情回应", en: "Opinion response" },
    disaster_summary: { zh: "灾情信息发布", en: "Disaster summary" },
    regular_info: { zh: "例行信息发布", en: "Regular information" },
    media_supervision: { zh: "舆论监督回应", en: "Media supervision reply" },
    conference_filing: { zh: "发布会备案", en: "Conference filing" },
    spokesperson_change: { zh: "发言人变更报备", en: "Spokesperson change" },
    routine_conference: { zh: "例行发布会", en: "Routine conference" },
  };

  const EVENTS = {
    "incident.reported": { zh: "新报事件", en: "Incident reported" },
    "incident.updated": { zh: "事件更新", en: "Incident updated" },
    "incident.level_changed": { zh: "级别调整", en: "Level changed" },
    "incident.responsibility_changed": { zh: "发布责任变更", en: "Responsibility moved" },
    "obligation.created": { zh: "新增时限", en: "Obligation opened" },
    "obligation.reminder": { zh: "时限提醒", en: "Deadline reminder" },
    "obligation.rescheduled": { zh: "时限调整", en: "Deadline moved" },
    "obligation.met": { zh: "时限已完成", en: "Obligation met" },
    "obligation.breached": { zh: "时限已逾期", en: "Obligation breached" },
    "obligation.cancelled": { zh: "时限取消", en: "Obligation cancelled" },
    "release.drafted": { zh: "稿件起草", en: "Release drafted" },
    "release.edited": { zh: "稿件修改", en: "Release edited" },
    "release.submitted": { zh: "稿件送审", en: "Release submitted" },
    "release.reviewed": { zh: "保密审查", en: "Release reviewed" },
    "release.approved": { zh: "稿件批准", en: "Release approved" },
    "release.rejected": { zh: "稿件退回", en: "Release rejected" },
    "release.cosigned": { zh: "会签完成", en: "Release co-signed" },
    "release.published": { zh: "信息已发布", en: "Release published" },
    "release.retracted": { zh: "信息撤回", en: "Release retracted" },
    "release.withdrawn": { zh: "稿件撤销", en: "Release withdrawn" },
    "release_flow.updated": { zh: "发布流程调整", en: "Release flow changed" },
    "conference.scheduled": { zh: "发布会排期", en: "Conference scheduled" },
    "conference.approved": { zh: "发布会批准", en: "Conference approved" },
    "conference.material_added": { zh: "发布会材料", en: "Conference material added" },
    "conference.filed": { zh: "发布会备案", en: "Conference filed" },
    "conference.held": { zh: "发布会已举行", en: "Conference held" },
    "conference.evaluated": { zh: "发布会评估", en: "Conference evaluated" },
    "warning.drafted": { zh: "预警起草", en: "Warning drafted" },
    "warning.published": { zh: "预警发布", en: "Warning published" },
    "escalation.raised": { zh: "提级处置", en: "Escalated" },
    "spokesperson.appointed": { zh: "发言人任命", en: "Spokesperson appointed" },
    "spokesperson.removed": { zh: "发言人免职", en: "Spokesperson removed" },
    "interview.requested": { zh: "采访申请", en: "Interview requested" },
    "interview.accepted": { zh: "采访同意", en: "Interview accepted" },
    "interview.declined": { zh: "采访婉拒", en: "Interview declined" },
  };
  const BAD_EVENTS = new Set(["obligation.breached", "release.retracted", "escalation.raised"]);
  const GOOD_EVENTS = new Set(["obligation.met", "release.published", "conference.held"]);

  const FIGURES = [
    ["deaths", { zh: "死亡", en: "dead" }],
    ["missing", { zh: "失踪", en: "missing" }],
    ["trapped", { zh: "被困", en: "trapped" }],
    ["serious_injuries", { zh: "重伤", en: "seriously injured" }],
    ["injuries", { zh: "受伤", en: "injured" }],
    ["relocated", { zh: "转移", en: "relocated" }],
    ["affected", { zh: "受灾", en: "affected" }],
  ];

  // Obligations due within this many seconds are shown amber.
  const SOON_SECONDS = 30 * 60;
  const FEED_MAX = 60;
  const FULL_RELOAD_MS = 10 * 60 * 1000;
  const CLOCK_RESYNC_MS = 5 * 60 * 1000;

  // -- state -----------------------------------------------------------------------------

  const store = window.sessionStorage;
  const prefs = window.localStorage;
  const state = {
    token: store.getItem("fabu.token") || prefs.getItem("fabu.token"),
    lang: prefs.getItem("fabu.lang") === "en" ? "en" : "zh",
    prefecture: prefs.getItem("fabu.prefecture") || "",
    me: null,
    divisions: new Map(),
    incidents: new Map(),
    feed: [],
    lastSeq: Number(store.getItem("fabu.lastSeq") || 0),
    offsetMs: 0, // server clock minus this browser's clock
    offsetRtt: Infinity,
    ws: null,
    wsAlive: 0,
    pingInterval: 20,
    retries: 0,
    retryTimer: null,
    refreshTimers: new Map(),
    refreshTokens: new Map(),
    stopped: true,
    timers: [],
    tickTimer: null,
    // Titles and levels by incident id, from events and reads, so the feed can name them.
    titles: new Map(),
    levels: new Map(),
    places: new Map(),
  };

  const $ = (id) => document.getElementById(id);
  const t = (key) => TEXT[state.lang][key] ?? TEXT.zh[key] ?? key;
  const label = (table, key) => (table[key] ? table[key][state.lang] : key);

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = v;
        else if (k.startsWith("data-")) el.setAttribute(k, v);
        else el.setAttribute(k, v);
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  // -- time ------------------------------------------------------------------------------

  const serverNow = () => Date.now() + state.offsetMs;

  function noteServerTime(iso, sentAt, receivedAt) {
    const server = Date.parse(iso);
    if (Number.isNaN(server)) return;
    const rtt = receivedAt - sentAt;
    // The sample with the shortest round trip is the most exact; a stale one is replaced.
    if (rtt <= state.offsetRtt * 1.5 || rtt < 250) {
      state.offsetMs = server - (sentAt + rtt / 2);
      state.offsetRtt = rtt;
    }
  }

  const shanghai = (opts) =>
    new Intl.DateTimeFormat(state.lang === "zh" ? "zh-CN" : "en-GB", {
      timeZone: "Asia/Shanghai", hour12: false, ...opts,
    });

  function hms(ms) {
    const parts = shanghai({ hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(ms);
    const get = (type) => (parts.find((p) => p.type === type) || { value: "00" }).value;
    return `${get("hour")}:${get("minute")}:${get("second")}`;
  }

  function shortDateTime(ms) {
    const parts = shanghai({ month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })
      .formatToParts(ms);
    const get = (type) => (parts.find((p) => p.type === type) || { value: "00" }).value;
    return `${get("month")}-${get("day")} ${get("hour")}:${get("minute")}`;
  }

  function longDate(ms) {
    const parts = shanghai({ year: "numeric", month: "2-digit", day: "2-digit", weekday: "short" })
      .formatToParts(ms);
    const get = (type) => (parts.find((p) => p.type === type) || { value: "" }).value;
    const weekday = new Date(ms + 8 * 3600 * 1000).getUTCDay();
    if (state.lang === "zh") {
      return `${get("year")}年${get("month")}月${get("day")}日 ${t("weekdays")[weekday]} 北京时间`;
    }
    return `${t("weekdays")[weekday]} ${get("year")}-${get("month")}-${get("day")} · Beijing time`;
  }

  const pad = (n) => String(n).padStart(2, "0");

  // "02:59:12", "1天 03:00:00"; overdue shown as the time past due, with a word.
  function countdownText(seconds) {
    const late = seconds < 0;
    let s = Math.abs(seconds);
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const text = `${d ? `${d}${t("days")} ` : ""}${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
    return late ? `${t("overdue")} ${text}` : text;
  }

  function article(text) {
    if (!text || state.lang === "en") return text || "";
    const m = /^Art\.\s*(\d+)(?:\((\d+)\))?/.exec(text);
    if (!m) return text;
    return `第${m[1]}条${m[2] ? `第${m[2]}款` : ""}`;
  }

  // -- API -------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      super(`HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  async function api(path) {
    const sentAt = Date.now();
    const res = await fetch(path, {
      headers: { Authorization: `Bearer ${state.token}`, Accept: "application/json" },
      cache: "no-store",
    });
    const receivedAt = Date.now();
    let body = null;
    try { body = await res.json(); } catch (_) { body = null; }
    if (!res.ok) throw new ApiError(res.status, body);
    if (body && typeof body.now === "string") noteServerTime(body.now, sentAt, receivedAt);
    return body;
  }

  // -- divisions and the prefecture filter -----------------------------------------------

  async function loadDivisions() {
    if (state.divisions.size) return;
    const res = await fetch("/dashboard/divisions.json");
    const body = await res.json();
    for (const d of body.items) state.divisions.set(d.code, d);
  }

  const divisionName = (code) => {
    const d = state.divisions.get(code);
    return d ? (state.lang === "zh" ? d.name_zh : d.name_en) : code;
  };
  const prefectureOf = (code) => (state.divisions.get(code) || {}).prefecture_code || null;

  function prefectureOptions() {
    const jurisdiction = new Set(state.me ? state.me.jurisdiction : []);
    const seen = new Set();
    const options = [];
    for (const d of state.divisions.values()) {
      if (d.level !== "prefecture" && d.level !== "new_area") continue;
      const reaches = [...jurisdiction].some((c) => prefectureOf(c) === d.code || c === d.code);
      if (reaches && !seen.has(d.code)) {
        seen.add(d.code);
        options.push(d);
      }
    }
    return options;
  }

  function renderFilter() {
    const select = $("prefecture-filter");
    const options = prefectureOptions();
    select.replaceChildren();
    const wholeProvince = state.me && state.me.jurisdiction.length > 60;
    select.append(h("option", { value: "" }, wholeProvince ? t("all_prefectures") : t("all_jurisdiction")));
    for (const d of options) select.append(h("option", { value: d.code }, divisionName(d.code)));
    if (state.prefecture && !options.some((d) => d.code === state.prefecture)) state.prefecture = "";
    select.value = state.prefecture;
    select.hidden = options.length < 2;
  }

  const inFilter = (codes) =>
    !state.prefecture || (codes || []).some((c) => prefectureOf(c) === state.prefecture || c === state.prefecture);

  // -- the board -------------------------------------------------------------------------

  const openObligations = (inc) =>
    (inc.obligations || []).filter((o) => o.status === "pending" || o.status === "breached");

  function firstDue(inc) {
    const due = openObligations(inc).map((o) => Date.parse(o.due_at));
    return due.length ? Math.min(...due) : Infinity;
  }

  function sortedIncidents() {
    return [...state.incidents.values()]
      .filter((inc) => inFilter(inc.division_codes))
      .sort((a, b) =>
        (LEVEL_RANK[b.level] || 0) - (LEVEL_RANK[a.level] || 0) ||
        firstDue(a) - firstDue(b) ||
        Date.parse(b.occurred_at) - Date.parse(a.occurred_at));
  }

  function placeText(inc) {
    const codes = inc.division_codes || [];
    const names = codes.slice(0, 2).map((code) => {
      const pref = prefectureOf(code);
      return pref && pref !== code ? `${divisionName(pref)} ${divisionName(code)}` : divisionName(code);
    });
    const more = codes.length > 2 ? ` +${codes.length - 2}` : "";
    return names.join("、") + more;
  }

  function incidentCard(inc, fresh) {
    const meta = h("div", { class: "incident-meta" },
      placeText(inc),
      inc.place ? h("span", { class: "sep" }, "·") : null,
      inc.place || null,
      h("span", { class: "sep" }, "·"),
      label(CATEGORIES, inc.category),
      h("span", { class: "sep" }, "·"),
      `${t("occurred")} ${shortDateTime(Date.parse(inc.occurred_at))}`);

    const org = inc.responsible_org || {};
    const responsible = h("div", { class: "responsible" },
      h("span", { class: "label" }, t("responsible")),
      h("span", { class: "value", "data-org-id": org.id || "" },
        (state.lang === "zh" ? org.name_zh : org.name_en) || org.id || "—"));

    const tags = h("div", { class: "tags" });
    if (inc.escalated) tags.append(h("span", { class: "tag warn" }, t("escalated")));
    if (inc.on_site_command) tags.append(h("span", { class: "tag" }, t("command")));
    if (inc.public_opinion === "major") tags.append(h("span", { class: "tag warn" }, t("opinion_major")));
    if (inc.public_opinion === "rising") tags.append(h("span", { class: "tag" }, t("opinion_rising")));
    if ((inc.co_signers || []).length) {
      const names = inc.co_signers.map((c) => (state.lang === "zh" ? c.name_zh : c.name_en) || c.id);
      tags.append(h("span", { class: "tag" }, `${t("cosigners")}: ${names.join("、")}`));
    }

    const figs = h("div", { class: "figures" });
    for (const [key, name] of FIGURES) {
      const n = (inc.figures || {})[key];
      if (n) figs.append(h("span", { class: "fig" }, h("span", { class: "k" }, name[state.lang]), h("b", null, String(n))));
    }

    const list = h("ul", { class: "obligations" });
    const open = openObligations(inc).sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at));
    for (const o of open) {
      list.append(h("li", {
        class: "obligation",
        "data-obligation-id": o.id,
        "data-kind": o.kind,
        "data-status": o.status,
        "data-due-at": o.due_at,
      },
      h("span", { class: "kind" },
        label(OBLIGATIONS, o.kind),
        h("small", null, article(o.article)),
        h("span", { class: "due-time" }, `${t("due_at")} ${shortDateTime(Date.parse(o.due_at))}`)),
      h("span", { class: "countdown", "data-due-at": o.due_at }, "")));
    }
    if (!open.length) list.append(h("li", { class: "none" }, t("no_open")));

    const card = h("article", {
      class: `incident level-${inc.level}${fresh ? " fresh" : ""}`,
      "data-incident-id": inc.id,
      "data-level": inc.level,
    },
    h("div", { class: "incident-head" },
      h("span", { class: "level-badge" }, label(LEVELS, inc.level)),
      h("h3", { class: "incident-title", title: inc.title }, inc.title)),
    meta, responsible,
    tags.childElementCount ? tags : null,
    figs.childElementCount ? figs : null,
    list);
    return card;
  }

  const known = new Set();

  function renderBoard() {
    const box = $("incidents");
    const list = sortedIncidents();
    const cards = list.map((inc) => {
      const fresh = !known.has(inc.id) && state.boardReady;
      known.add(inc.id);
      return incidentCard(inc, fresh);
    });
    box.replaceChildren(...cards);
    $("empty").hidden = list.length > 0;
    $("board-count").textContent = list.length ? t("count").replace("{n}", list.length) : "";
    for (const lv of ["I", "II", "III", "IV"]) {
      const n = list.filter((i) => i.level === lv).length;
      $(`stat-${lv}`).textContent = n;
      $(`stat-${lv}`).parentElement.classList.toggle("zero", n === 0);
    }
    state.boardReady = true;
    tick();
  }

  // Once a second: countdowns, the clock and the overdue tally; text only, so nothing moves.
  function tick() {
    const now = serverNow();
    let overdue = 0;
    for (const el of document.querySelectorAll(".countdown[data-due-at]")) {
      const seconds = Math.floor((Date.parse(el.dataset.dueAt) - now) / 1000);
      const text = countdownText(seconds);
      if (el.textContent !== text) el.textContent = text;
      const row = el.parentElement;
      const late = seconds < 0 || row.dataset.status === "breached";
      row.classList.toggle("overdue", late);
      row.classList.toggle("soon", !late && seconds < SOON_SECONDS);
      if (late) overdue += 1;
    }
    $("stat-overdue").textContent = overdue;
    $("stat-overdue-box").classList.toggle("has", overdue > 0);
    $("clock-time").textContent = hms(now);
    const date = longDate(now);
    if ($("clock-date").textContent !== date) $("clock-date").textContent = date;
  }

  function startTicking() {
    const step = () => {
      if (state.stopped) return;
      tick();
      // Land just after the next whole server second so that every countdown turns together.
      const delay = 1000 - (serverNow() % 1000) + 15;
      state.tickTimer = setTimeout(step, delay);
    };
    step();
  }

  // -- the feed --------------------------------------------------------------------------

  function remember(evt) {
    const d = evt.data || {};
    if (!evt.incident_id || !evt.type.startsWith("incident.")) return;
    if (d.title) state.titles.set(evt.incident_id, d.title);
    if (d.level) state.levels.set(evt.incident_id, d.level);
    if (d.division_codes) state.places.set(evt.incident_id, d.division_codes);
  }

  function eventText(evt) {
    const d = evt.data || {};
    const title = (evt.type.startsWith("incident.") && d.title) ||
      (evt.incident_id && state.titles.get(evt.incident_id)) || null;
    if (evt.type.startsWith("obligation.")) {
      const kind = label(OBLIGATIONS, d.kind);
      return title ? `${kind} · ${title}` : kind;
    }
    if (evt.type === "incident.level_changed") {
      return `${label(LEVELS, d.from)} → ${label(LEVELS, d.to)}${title ? ` · ${title}` : ""}`;
    }
    return title || d.headline || d.title || (evt.incident_id ? t("unknown_incident") : "");
  }

  function feedItem(evt, fresh) {
    const level = (evt.type.startsWith("incident.") && evt.data && evt.data.level) ||
      (evt.incident_id && state.levels.get(evt.incident_id)) || "";
    const cls = ["evt"];
    if (level) cls.push(`level-${level}`);
    if (BAD_EVENTS.has(evt.type)) cls.push("bad");
    if (GOOD_EVENTS.has(evt.type)) cls.push("good");
    if (fresh) cls.push("fresh");
    return h("li", { class: cls.join(" "), "data-seq": evt.seq, "data-type": evt.type },
      h("time", { datetime: evt.at }, hms(Date.parse(evt.at))),
      h("span", { class: "evt-type" }, label(EVENTS, evt.type)),
      h("span", { class: "evt-text" }, eventText(evt)));
  }

  function feedVisible(evt) {
    if (!state.prefecture) return true;
    const codes = (evt.data && evt.data.division_codes) ||
      (evt.incident_id && state.places.get(evt.incident_id)) || null;
    return codes ? inFilter(codes) : true;
  }

  function renderFeed() {
    const items = state.feed.filter(feedVisible).slice(-FEED_MAX).reverse();
    const box = $("feed");
    box.replaceChildren(...items.map((e) => feedItem(e, false)));
    if (!items.length) box.append(h("li", { class: "none" }, t("feed_empty")));
  }

  function pushFeed(evt) {
    remember(evt);
    state.feed.push(evt);
    if (state.feed.length > FEED_MAX * 3) state.feed.splice(0, state.feed.length - FEED_MAX * 3);
    if (!feedVisible(evt)) return;
    const box = $("feed");
    const none = box.querySelector(".none");
    if (none) none.remove();
    box.prepend(feedItem(evt, true));
    while (box.childElementCount > FEED_MAX) box.lastElementChild.remove();
  }

  // -- incidents from the API ------------------------------------------------------------

  async function loadIncidents() {
    const body = await api("/api/v1/incidents?status=active&limit=500");
    const fresh = new Map();
    for (const inc of body.items) {
      fresh.set(inc.id, inc);
      state.titles.set(inc.id, inc.title);
      state.levels.set(inc.id, inc.level);
      state.places.set(inc.id, inc.division_codes);
    }
    state.incidents = fresh;
    renderBoard();
    renderFeed();
  }

  // Events name an incident; the incident itself is re-read (debounced) rather than patched.
  function refreshIncident(id) {
    clearTimeout(state.refreshTimers.get(id));
    state.refreshTimers.set(id, setTimeout(async () => {
      state.refreshTimers.delete(id);
      const ticket = (state.refreshTokens.get(id) || 0) + 1;
      state.refreshTokens.set(id, ticket);
      try {
        const inc = await api(`/api/v1/incidents/${encodeURIComponent(id)}`);
        if (state.refreshTokens.get(id) !== ticket) return; // a newer read is on its way
        state.titles.set(id, inc.title);
        state.levels.set(id, inc.level);
        if (inc.status === "active") state.incidents.set(id, inc);
        else state.incidents.delete(id);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) state.incidents.delete(id);
        else if (err instanceof ApiError && err.status === 401) return signOut(t("login_bad"));
        else return;
      }
      renderBoard();
    }, 200));
  }

  // -- the live stream -------------------------------------------------------------------

  function setConn(stateName, text) {
    const el = $("conn");
    el.dataset.state = stateName;
    $("conn-text").textContent = text;
  }

  function saveSeq(seq) {
    if (seq > state.lastSeq) {
      state.lastSeq = seq;
      store.setItem("fabu.lastSeq", String(seq));
    }
  }

  function connect() {
    if (state.stopped) return;
    clearTimeout(state.retryTimer);
    setConn("connecting", t("conn_connecting"));
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}/api/v1/live?after=${state.lastSeq}`;
    let ws;
    try {
      // fabu.live.batch: each message is an array of the events that were ready together.
      ws = new WebSocket(url, ["fabu.live.batch", `fabu.token.${state.token}`]);
    } catch (_) {
      return scheduleRetry();
    }
    state.ws = ws;
    state.wsAlive = Date.now();
    ws.onopen = () => {
      state.retries = 0;
      state.wsAlive = Date.now();
      setConn("live", t("conn_live"));
    };
    ws.onmessage = (msg) => {
      state.wsAlive = Date.now();
      let parsed;
      try { parsed = JSON.parse(msg.data); } catch (_) { return; }
      if (!Array.isArray(parsed)) {
        if (parsed.type === "ping") {
          if (typeof parsed.interval === "number") state.pingInterval = parsed.interval;
          if (typeof parsed.last_seq === "number") saveSeq(parsed.last_seq);
          return;
        }
        parsed = [parsed];
      }
      const touched = new Set();
      for (const evt of parsed) {
        if (typeof evt.seq !== "number" || evt.seq <= state.lastSeq) continue; // already seen
        saveSeq(evt.seq);
        pushFeed(evt);
        if (evt.incident_id && /^(incident|obligation|escalation)\./.test(evt.type)) {
          touched.add(evt.incident_id);
        }
      }
      touched.forEach(refreshIncident); // once per incident, however many of its events came
    };
    ws.onclose = (ev) => {
      if (state.ws !== ws) return;
      state.ws = null;
      if (state.stopped) return;
      if (ev.code === 4401) return signOut(t("login_bad"));
      if (ev.code === 4400) {
        // Our position is not in this log (a new database): start over from its end.
        state.lastSeq = 0;
        store.removeItem("fabu.lastSeq");
        return scheduleRetry(0, true);
      }
      // 4008 (fell behind) and 1012 (instance restarting) resume at once; others back off.
      const quick = ev.code === 4008 || ev.code === 1012;
      scheduleRetry(quick ? 0 : null, false);
    };
  }

  function scheduleRetry(delayMs, fullReload) {
    if (state.stopped) return;
    state.retries += 1;
    const delay = delayMs ?? Math.min(30000, 1000 * 2 ** Math.min(state.retries - 1, 5)) * (0.75 + Math.random() * 0.5);
    let left = Math.ceil(delay / 1000);
    setConn(state.retries > 3 ? "lost" : "connecting",
      left > 0 ? t("conn_retry").replace("{s}", left) : t("conn_connecting"));
    const countdown = setInterval(() => {
      left -= 1;
      if (left > 0) $("conn-text").textContent = t("conn_retry").replace("{s}", left);
    }, 1000);
    state.retryTimer = setTimeout(async () => {
      clearInterval(countdown);
      if (state.stopped) return;
      try {
        // Incidents that changed meanwhile are re-read whole; the feed resumes from lastSeq.
        if (fullReload) await loadFeed();
        await loadIncidents();
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return signOut(t("login_bad"));
        return scheduleRetry(null, fullReload);
      }
      connect();
    }, delay);
  }

  // A socket that says nothing for 2.5 ping intervals is dead even if the browser has not
  // noticed (a laptop lid, a proxy): drop it and resume.
  function watchdog() {
    if (state.stopped || !state.ws) return;
    if (Date.now() - state.wsAlive > state.pingInterval * 2500) {
      const ws = state.ws;
      state.ws = null;
      try { ws.close(4000, "silent"); } catch (_) { /* already gone */ }
      scheduleRetry(0, false);
    }
  }

  async function loadFeed() {
    const body = await api("/api/v1/events?last=40");
    state.feed = body.items;
    for (const evt of body.items) remember(evt);
    state.lastSeq = body.last_seq;
    store.setItem("fabu.lastSeq", String(body.last_seq));
    renderFeed();
  }

  // -- sign in and out -------------------------------------------------------------------

  function applyLanguage() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.title = state.lang === "zh" ? `${t("app_title")} · Fabu` : t("app_title");
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    const org = state.me && state.me.org;
    $("org-name").textContent = org ? (state.lang === "zh" ? org.name_zh : org.name_en) : "";
    if (state.me) {
      renderFilter();
      renderBoard();
      renderFeed();
      const live = $("conn").dataset.state === "live";
      if (live) $("conn-text").textContent = t("conn_live");
    }
  }

  function showLogin(message) {
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("login-button").disabled = false;
    $("token-input").focus();
  }

  function signOut(message) {
    state.stopped = true;
    for (const timer of state.timers) clearInterval(timer);
    state.timers = [];
    clearTimeout(state.tickTimer);
    clearTimeout(state.retryTimer);
    if (state.ws) { const ws = state.ws; state.ws = null; ws.close(1000, "signed out"); }
    state.token = null;
    state.me = null;
    state.incidents = new Map();
    state.feed = [];
    state.lastSeq = 0;
    store.removeItem("fabu.token");
    prefs.removeItem("fabu.token");
    store.removeItem("fabu.lastSeq");
    showLogin(message);
  }

  async function start() {
    state.stopped = false;
    const [me] = await Promise.all([api("/api/v1/me"), loadDivisions()]);
    state.me = me;
    $("login").hidden = true;
    $("app").hidden = false;
    applyLanguage();
    startTicking();
    // Feed first: its last_seq is where the stream resumes, so nothing between the
    // incident list and the stream is lost (at worst an incident is read twice).
    await loadFeed();
    await loadIncidents();
    connect();
    state.timers.push(setInterval(watchdog, 5000));
    state.timers.push(setInterval(() => { loadIncidents().catch(() => {}); }, FULL_RELOAD_MS));
    state.timers.push(setInterval(() => {
      state.offsetRtt = Infinity; // take a fresh sample
      api(`/api/v1/events?after=${state.lastSeq}&limit=1`).catch(() => {});
    }, CLOCK_RESYNC_MS));
  }

  async function signIn(token, remember) {
    clearTimeout(state.retryTimer);
    state.token = token;
    $("login-button").disabled = true;
    $("login-error").textContent = t("login_checking");
    try {
      await start();
      store.setItem("fabu.token", token);
      if (remember) prefs.setItem("fabu.token", token);
      else prefs.removeItem("fabu.token");
    } catch (err) {
      state.stopped = true;
      state.token = null;
      const refused = err instanceof ApiError && (err.status === 401 || err.status === 403);
      if (refused) {
        prefs.removeItem("fabu.token");
        store.removeItem("fabu.token");
      } else if (remember) {
        // A wall display after a power cut may start before the network: keep trying.
        state.retryTimer = setTimeout(() => signIn(token, true), 10_000);
      }
      showLogin(refused ? t("login_bad") : t("login_net"));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const token = $("token-input").value.trim();
      if (token) signIn(token, $("remember-input").checked);
    });
    $("logout").addEventListener("click", () => signOut(""));
    for (const btn of document.querySelectorAll(".lang-toggle")) {
      btn.addEventListener("click", () => {
        state.lang = state.lang === "zh" ? "en" : "zh";
        prefs.setItem("fabu.lang", state.lang);
        applyLanguage();
      });
    }
    $("prefecture-filter").addEventListener("change", (ev) => {
      state.prefecture = ev.target.value;
      prefs.setItem("fabu.prefecture", state.prefecture);
      renderBoard();
      renderFeed();
    });
    applyLanguage();
    if (state.token) {
      signIn(state.token, prefs.getItem("fabu.token") === state.token);
    } else {
      showLogin("");
    }
  });
})();
