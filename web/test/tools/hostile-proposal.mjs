// Plays a hostile delivery service for the Go browser tests (e2e/): prints,
// base64, an MLS new_member_proposal (RFC 9420 §12.1.8) that adds a key of
// the server's own to a meeting's group. The server sees the group id and
// epoch in every envelope, and that is all such a proposal needs. An
// honest Kaigi client must refuse it; an old one stored it and folded it
// into its next commit, letting the server in.
//
//   node web/test/tools/hostile-proposal.mjs MEETING_ID EPOCH

import {
  defaultCapabilities,
  defaultLifetime,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  proposeAddExternal,
} from "ts-mls";

const [meeting, epochArg] = process.argv.slice(2);
if (!meeting || epochArg === undefined) {
  console.error("usage: hostile-proposal.mjs MEETING_ID EPOCH");
  process.exit(2);
}
const cs = await getCiphersuiteImpl(getCiphersuiteFromName("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"));
const keys = await cs.signature.keygen();
// A credential that names its own key, as Kaigi's first clients required.
const kp = await generateKeyPackage({ credentialType: "basic", identity: keys.publicKey }, defaultCapabilities(), defaultLifetime, [], cs);
const groupContext = {
  version: "mls10",
  cipherSuite: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
  groupId: new TextEncoder().encode(`kaigi meeting ${meeting}`),
  epoch: BigInt(epochArg),
  treeHash: new Uint8Array(32),
  confirmedTranscriptHash: new Uint8Array(32),
  extensions: [],
};
const msg = await proposeAddExternal({ groupContext }, kp.publicPackage, kp.privatePackage, cs);
process.stdout.write(`${Buffer.from(encodeMlsMessage(msg)).toString("base64")}\n`);
