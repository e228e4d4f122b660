// The browser's live link: a snapshot on connect, then frames; reconnects by itself and resyncs on a gap.
// A frame carries, per rig, only the fields that changed (with rig, online and kind); the link merges them into
// its copy of the rigs' entries and hands the pages whole entries, so no page ever sees a partial one. A rig it
// has no entry for, or a lost frame, means its copy is incomplete: it asks for a snapshot (one at a time).
// A page with a live link shows the dot in the top bar (green: live; red: reconnecting); other pages have none.

export class LiveLink {
  constructor(path, { onSnapshot, onFrame, onCommand, onState, onSessions }) {
    this.path = path;
    this.handlers = { onSnapshot, onFrame, onCommand, onState, onSessions };
    this.watched = null; // the session a session page shows: its entry is asked for after every (re)connect
    this.lastSeq = new Map(); // origin -> seq: several dashboard processes each number their own frames
    this.entries = new Map(); // rig -> its whole entry, as of the last snapshot and the frames merged since
    this.resyncing = false; // a snapshot was asked for and has not come yet
    this.delay = 1000;
    this.socket = null;
    this.refs = new Map();
    this.nextRef = 1;
  }

  showState(state) {
    const indicator = document.getElementById("live-indicator");
    if (!indicator) return;
    indicator.hidden = false;
    indicator.className = `live-indicator ${state}`;
    const words = { up: "Live: this page updates by itself", connecting: "Connecting…" };
    indicator.title = words[state] || "Live link lost: reconnecting…";
    indicator.setAttribute("aria-label", indicator.title);
  }

  start() {
    this.showState("connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${this.path}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.delay = 1000;
      this.resyncing = false; // the snapshot on connect is on its way
      this.showState("up");
      if (this.handlers.onState) this.handlers.onState("up");
      if (this.watched) this.send({ type: "session", exp_ref: this.watched });
    });
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      this.showState("down");
      if (this.handlers.onState) this.handlers.onState("down");
      // Daphne closes sockets after a day and dashboards restart: always come back, with capped backoff.
      setTimeout(() => this.start(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    });
  }

  receive(message) {
    if (message.type === "snapshot") {
      this.lastSeq = new Map([[message.origin, message.seq]]);
      this.entries = new Map(message.rigs.map((entry) => [entry.rig, entry]));
      this.resyncing = false;
      this.handlers.onSnapshot(message);
    } else if (message.type === "frame") {
      const last = this.lastSeq.get(message.origin);
      if (last !== undefined && message.seq <= last) return; // sent before the snapshot that came first: in it
      this.lastSeq.set(message.origin, message.seq);
      if (last !== undefined && message.seq !== last + 1) this.resync(); // a frame was lost on the way
      this.handlers.onFrame({ ...message, rigs: this.merge(message.rigs || []) });
    } else if (message.type === "sessions") {
      if (this.handlers.onSessions) this.handlers.onSessions(message.sessions);
    } else if (message.type === "command") {
      const callback = this.refs.get(message.ref);
      this.refs.delete(message.ref);
      this.handlers.onCommand(message, callback);
    }
  }

  // Whole entries from a frame's changed fields: whatever keys arrive replace the entry's (no list of fields
  // here: entries grow new ones). Each merged entry is a new object; a page may still hold the one before.
  merge(changes) {
    const entries = [];
    for (const change of changes) {
      const known = this.entries.get(change.rig);
      if (!known) { this.resync(); continue; } // a rig this page never had whole: only a snapshot has it
      const entry = { ...known, ...change };
      this.entries.set(change.rig, entry);
      entries.push(entry);
    }
    return entries;
  }

  resync() {
    if (this.resyncing) return;
    this.resyncing = this.send({ type: "snapshot" }); // start again from the full state
    if (this.watched) this.send({ type: "session", exp_ref: this.watched });
  }

  watchSession(expRef) {
    this.watched = expRef;
    this.send({ type: "session", exp_ref: expRef });
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  command(rig, action, params, callback) {
    const ref = String(this.nextRef++);
    this.refs.set(ref, callback);
    if (!this.send({ type: "command", ref, rig, action, params: params || {} })) {
      this.refs.delete(ref);
      callback({ error: "The live link is down; try again in a moment." });
    }
  }
}
