// Recording keys signed by the device key that MLS credentials use
// (src/recording/key-signature.ts): a recorder accepts a reader's key as
// theirs only when a device the meeting's group has for that account
// signed it; a key the server swapped in is flagged.

import assert from "node:assert/strict";
import { test } from "node:test";
import { generateSigningIdentity } from "../src/e2ee/signing.js";
import { checkReaderKey, KEY_SIGNATURE_LENGTH, recordingKeySigner, signedByDevice, signRecordingKey } from "../src/recording/key-signature.js";

const key = (n: number) => new Uint8Array(32).fill(n);

test("a recording key's signature names its device, and only for that key and account", async () => {
  const dev = await generateSigningIdentity({ webCrypto: false });
  const sig = await signRecordingKey(dev, key(1), "acct-ada");
  assert.equal(sig.length, KEY_SIGNATURE_LENGTH);
  assert.deepEqual(await recordingKeySigner(sig, key(1), "acct-ada"), dev.publicKey);
  assert.equal(await recordingKeySigner(sig, key(2), "acct-ada"), null, "another key");
  assert.equal(await recordingKeySigner(sig, key(1), "acct-bob"), null, "another account");
  const bent = sig.slice();
  bent[40]! ^= 1;
  assert.equal(await recordingKeySigner(bent, key(1), "acct-ada"), null, "a changed signature");
  assert.equal(await recordingKeySigner(undefined, key(1), "acct-ada"), null);
  assert.equal(await recordingKeySigner(sig.slice(1), key(1), "acct-ada"), null, "a short one");
  assert.ok(await signedByDevice(sig, dev, key(1), "acct-ada"));
  assert.equal(await signedByDevice(sig, await generateSigningIdentity({ webCrypto: false }), key(1), "acct-ada"), false);
  await assert.rejects(signRecordingKey(dev, key(1), ""), /account/);
});

test("the recorder checks a reader's key against the devices the group has for that account", async () => {
  const adaDevice = await generateSigningIdentity({ webCrypto: false });
  const serverDevice = await generateSigningIdentity({ webCrypto: false });
  const members = [
    { identity: adaDevice.publicKey, account: "acct-ada", problem: null },
    { identity: (await generateSigningIdentity({ webCrypto: false })).publicKey, account: "acct-cy", problem: null },
  ];
  const adaKey = { account: "acct-ada", publicKey: key(1), signature: await signRecordingKey(adaDevice, key(1), "acct-ada") };
  assert.equal(await checkReaderKey(adaKey, members), "signed");
  // The server hands out a key of its own for Ada: unsigned, or signed by a device that is not hers in this group.
  assert.equal(await checkReaderKey({ account: "acct-ada", publicKey: key(9) }, members), "unsigned");
  assert.equal(await checkReaderKey({ account: "acct-ada", publicKey: key(9), signature: await signRecordingKey(serverDevice, key(9), "acct-ada") }, members), "unsigned");
  // Ada's real signature moved onto the server's key does not pass either.
  assert.equal(await checkReaderKey({ ...adaKey, publicKey: key(9) }, members), "unsigned");
  // Cy's device signing a key for Ada's account is not Ada's device.
  const cyDevice = await generateSigningIdentity({ webCrypto: false });
  const withCy = [members[0]!, { identity: cyDevice.publicKey, account: "acct-cy", problem: null }];
  assert.equal(await checkReaderKey({ account: "acct-ada", publicKey: key(9), signature: await signRecordingKey(cyDevice, key(9), "acct-ada") }, withCy), "unsigned");
  // Someone not in the meeting: nothing to check against (fingerprints and pins, as before).
  assert.equal(await checkReaderKey({ account: "acct-dee", publicKey: key(4) }, members), "absent");
  // A leaf the member list flags does not vouch for anyone's key.
  assert.equal(await checkReaderKey(adaKey, [{ ...members[0]!, problem: "account" }]), "absent");
});
