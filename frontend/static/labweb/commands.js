// Commands sent from a rig's card (or the several-rigs panel) and the rig's answers, told on the card in words.
//
// The page hands in how to reach its live link, its rig items ({entry, card, reply, ...}) and how to redraw one;
// the card shows `item.reply`: "sending…", "sent", then what the rig's answer means.

import { stateLook } from "./vocabulary.js";

const FAILED = ["failed", "refused", "unanswered"];

// What a command's answer means, in words: "done" is said only of what is done (a copy is queued, not done).
export function answered(command) {
  const result = command.result || {};
  if (command.state !== "succeeded") {
    const look = stateLook("command_states", command.state);
    return `${command.action}: ${look.label.toLowerCase()}${command.error ? ` (${command.error})` : ""}`;
  }
  switch (command.action) {
    case "transfer.run": {
      const queued = result.queued || [];
      return queued.length ? `Copy queued: ${queued.join(", ")}` : "Copy: those sessions are already queued";
    }
    case "transfer.verify": return `Re-verified ${result.exp_ref || ""}: ${result.ok ? "all files good" : "problems found"}`;
    case "spool.start": return `Spooling to ${(result.file || "").split(/[\\/]/).pop()}`;
    case "spool.stop": return `Series ended: ${result.frames ?? "?"} frames${result.dropped ? `, ${result.dropped} dropped` : ""}`;
    case "preview.request": return result.checked ? "Camera checked: the frame is below" : "Preview refreshed";
    case "session.start": return `Leading session ${result.exp_ref || ""}`;
    case "session.stop": return `Session ${result.exp_ref || ""} stopped`;
    case "session.interrupt": return `Session ${result.exp_ref || ""} interrupted`;
    default: return `${command.action}: done`;
  }
}

export function commandReplies({ link, item, draw }) {
  // Commands already answered: with several dashboard processes, the issuing process's "sent" can come after the
  // answer the rig's process relayed, and must not take its place.
  const ended = new Set();
  return {
    // Send one command; `done(error)` hears whether the dashboard took it (the rig's answer comes later).
    send(rig, action, params, done) {
      const found = item(rig);
      if (!found) return;
      found.reply = { text: `${action}: sending…`, error: false };
      draw(found);
      link().command(rig, action, params, (message) => {
        const command = message.command;
        if (done) done(message.error);
        if (message.error) found.reply = { text: `${action}: ${message.error}`, error: true };
        else found.reply = { text: `${action}: sent`, error: false, id: command && command.id };
        draw(found);
      });
    },
    // A command's new state, from a frame.
    update(command) {
      const found = item(command.rig);
      if (!found) return;
      const open = command.state === "pending" || command.state === "sent";
      if (open && ended.has(command.id)) return;
      if (!open) ended.add(command.id);
      found.reply = { text: answered(command), error: FAILED.includes(command.state) };
      draw(found);
    },
  };
}
