// Whether this client may send its camera, microphone and screen, and how.
// The server says in `welcome` whether the meeting is end-to-end encrypted,
// but the server is the adversary (docs/security.md, "Downgrade"): a server
// that says "not encrypted" must not get media in clear from anyone who has
// reason to expect encryption. That reason comes from the invite link's
// fragment (lib/invite.ts), from this device's memory (lib/storage.ts), and from
// having been in the meeting with encryption on; never from the server
// saying "no". In a meeting nobody expects to be encrypted, the person is
// asked once before anything is sent in clear.

import { rememberE2ee, remembersE2ee } from "../lib/storage.js";

/**
 * What to do with local media:
 * - "encrypted": send it, end-to-end encrypted;
 * - "clear": send it without end-to-end encryption (the person agreed);
 * - "ask": send nothing until the person agrees to send without encryption;
 * - "refuse": send nothing, and warn: encryption was expected and the
 *   server says there is none (or this browser cannot encrypt).
 */
export type Sending = "encrypted" | "clear" | "ask" | "refuse";

export interface SendingFacts {
  /** The invite link, this device or this session has reason to expect end-to-end encryption. */
  expectE2ee: boolean;
  /** `welcome.e2ee`: what the server says. */
  serverE2ee: boolean;
  /** This browser has end-to-end encryption ready for the meeting. */
  canEncrypt: boolean;
  /** The person agreed to send without end-to-end encryption in this meeting. */
  consented: boolean;
}

export function decideSending(f: SendingFacts): Sending {
  if (f.serverE2ee) return f.canEncrypt ? "encrypted" : "refuse";
  if (f.expectE2ee) return "refuse";
  return f.consented ? "clear" : "ask";
}

/** Where a device keeps the meetings it knows to be end-to-end encrypted. */
export interface E2eeMemory {
  remember(meetingId: string): void;
  remembers(meetingId: string): boolean;
}

/** localStorage, through lib/storage.ts. */
export const deviceMemory: E2eeMemory = { remember: rememberE2ee, remembers: remembersE2ee };

/** What the person found out before joining. */
export interface Known {
  /** What the invite link's fragment said (`e2ee=1`, `e2ee=0`, or nothing). */
  link: boolean | null;
  /** The meeting's page said it is end-to-end encrypted (GET /api/meetings/{id}): the server's word, so it may only add to the expectation. */
  announced: boolean;
}

/**
 * One meeting's sending rules on this device, kept across reconnects and
 * rejoins: expecting encryption only ever goes from no to yes.
 */
export class SendPolicy {
  private expected: boolean;
  private consented = false;

  constructor(
    private readonly meetingId: string,
    known: Known,
    private readonly memory: E2eeMemory = deviceMemory,
  ) {
    if (known.link === true) memory.remember(meetingId);
    this.expected = known.link === true || known.announced || memory.remembers(meetingId);
  }

  /** Whether end-to-end encryption is expected, whatever the server says. */
  get expectsE2ee(): boolean {
    return this.expected;
  }

  /** The person agreed to send without end-to-end encryption in this meeting. */
  consent(): void {
    this.consented = true;
  }

  /**
   * A `welcome` arrived (first join, resume or rejoin): what to send now.
   * Being in the meeting with encryption on is remembered, on the device
   * and for this session (should storage be unavailable).
   */
  welcomed(serverE2ee: boolean, canEncrypt: boolean): Sending {
    const sending = this.decide(serverE2ee, canEncrypt);
    if (serverE2ee) {
      this.expected = true;
      this.memory.remember(this.meetingId);
    }
    return sending;
  }

  /** What to send, given what the server said in its latest `welcome`. */
  decide(serverE2ee: boolean, canEncrypt: boolean): Sending {
    return decideSending({ expectE2ee: this.expected, serverE2ee, canEncrypt, consented: this.consented });
  }
}
