// The browser's live link: a snapshot on connect, then frames; reconnects by itself and resyncs on a gap.
// A page with a live link shows the dot in the top bar (green: live; red: reconnecting); other pages have none.

export class LiveLink {
  constructor(path, { onSnapshot, onFrame, onCommand, onState, onSessions }) {
    this.path = path;
    this.handlers = { onSnapshot, onFrame, onCommand, onState, onSessions };
    this.watched = null; // the session a session page shows: its entry is asked for after every (re)connect
    this.lastSeq = new Map(); // origin -> seq: several dashboard processes each number their own frames
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
      this.handlers.onSnapshot(message);
    } else if (message.type === "frame") {
      const last = this.lastSeq.get(message.origin);
      this.lastSeq.set(message.origin, message.seq);
      if (last !== undefined && message.seq !== last + 1) {
        this.send({ type: "snapshot" }); // a frame was lost on the way: start again from the full state
        if (this.watched) this.send({ type: "session", exp_ref: this.watched });
      }
      this.handlers.onFrame(message);
    } else if (message.type === "sessions") {
      if (this.handlers.onSessions) this.handlers.onSessions(message.sessions);
    } else if (message.type === "command") {
      const callback = this.refs.get(message.ref);
      this.refs.delete(message.ref);
      this.handlers.onCommand(message, callback);
    }
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
