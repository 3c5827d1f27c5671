/**
 * The terminal side of `conclave chat`: a readline prompt, and printing that never garbles what
 * you are typing. A line arriving mid-typing clears the prompt line, prints, and redraws the
 * prompt with your partial input and cursor where they were. Without a terminal (piped stdin or
 * stdout) it is plain line in, line out.
 */
import { clearScreenDown, createInterface, cursorTo, moveCursor } from 'node:readline';
import type { Interface } from 'node:readline';

export interface ChatScreen {
  readonly rl: Interface;
  readonly isTty: boolean;
  /** Print a line (or several) above the prompt. */
  say(text: string): void;
  /** Show the prompt again (after a line that printed nothing). */
  prompt(): void;
  /** Erase the line just submitted: it is shown again when the room has sequenced it. */
  eraseSubmitted(line: string): void;
  close(): void;
}

export function createChatScreen(prompt: string): ChatScreen {
  const { stdin, stdout } = process;
  const isTty = stdin.isTTY === true && stdout.isTTY === true;
  const rl = createInterface({ input: stdin, output: stdout, terminal: isTty, prompt });
  let closed = false;
  rl.on('close', () => (closed = true));
  if (isTty) rl.prompt();

  return {
    rl,
    isTty,
    say(text) {
      if (!isTty || closed) {
        stdout.write(`${text}\n`);
        return;
      }
      // Back to where the prompt starts (the input may wrap over several rows), then clear.
      moveCursor(stdout, 0, -rl.getCursorPos().rows);
      cursorTo(stdout, 0);
      clearScreenDown(stdout);
      stdout.write(`${text}\n`);
      rl.prompt(true);
    },
    prompt() {
      if (isTty && !closed) rl.prompt(true);
    },
    eraseSubmitted(line) {
      if (!isTty) return;
      const columns = stdout.columns > 0 ? stdout.columns : 80;
      const rows = Math.max(1, Math.ceil((prompt.length + line.length) / columns));
      moveCursor(stdout, 0, -rows);
      cursorTo(stdout, 0);
      clearScreenDown(stdout);
      rl.prompt(true);
    },
    close() {
      if (!closed) rl.close();
    },
  };
}
