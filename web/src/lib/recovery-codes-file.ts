// The text file of recovery codes a person downloads after turning on
// two-factor authentication. Pure, so its wording and layout are tested.

/** The file's contents: what the codes are for, then one code a line. */
export function recoveryCodesText(codes: readonly string[], account: string, site: string, when: Date): string {
  return [
    `Kaigi recovery codes for ${account}`,
    `Server: ${site}`,
    `Made: ${when.toISOString().slice(0, 10)}`,
    "",
    "Each code signs you in once, instead of the code from your authenticator app.",
    "Keep them somewhere safe, like a password manager. Getting new codes makes these stop working.",
    "",
    ...codes,
    "",
  ].join("\n");
}

/** A file name for the download: "kaigi-recovery-codes-example.org.txt". */
export function recoveryCodesFileName(host: string): string {
  const safe = host.replace(/[^a-zA-Z0-9.-]+/g, "-").replace(/^-+|-+$/g, "");
  return safe ? `kaigi-recovery-codes-${safe}.txt` : "kaigi-recovery-codes.txt";
}
