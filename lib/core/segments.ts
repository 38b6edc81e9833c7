/**
 * SMS length in segments, as carriers count it: GSM-7 (160 per message, 153 per part;
 * extension characters take two) unless any character is outside GSM-7, which switches the
 * whole message to UCS-2 (70, then 67 per part, counted in UTF-16 units).
 */

const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENSION = '\f^{}\\[~]|€';
const BASIC = new Set(GSM_BASIC);
const EXTENSION = new Set(GSM_EXTENSION);

export interface SmsAnalysis {
  encoding: 'GSM-7' | 'UCS-2';
  /** Septets for GSM-7 (extension characters count twice), UTF-16 units for UCS-2. */
  length: number;
  segments: number;
  /** The distinct characters that forced UCS-2 (empty for GSM-7). */
  nonGsmCharacters: string[];
}

/** The characters that forced UCS-2, quoted, for a warning a person reads. */
export function ucs2Culprits(analysis: SmsAnalysis): string {
  return analysis.nonGsmCharacters.map((c) => JSON.stringify(c)).join(', ');
}

export function analyseSms(text: string): SmsAnalysis {
  let septets = 0;
  const nonGsm = new Set<string>();
  for (const ch of text) {
    if (BASIC.has(ch)) septets += 1;
    else if (EXTENSION.has(ch)) septets += 2;
    else nonGsm.add(ch);
  }
  if (nonGsm.size === 0) {
    return { encoding: 'GSM-7', length: septets, segments: septets <= 160 ? 1 : Math.ceil(septets / 153), nonGsmCharacters: [] };
  }
  const units = text.length;
  return { encoding: 'UCS-2', length: units, segments: units <= 70 ? 1 : Math.ceil(units / 67), nonGsmCharacters: [...nonGsm] };
}
