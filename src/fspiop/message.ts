// The FSPIOP message as the stages hand it to each other (one object per request, instead of loosely
// shared context variables): the bytes that will be sent, the parsed JSON object when a stage needs it
// (parsed once), whether and how its signature was checked or made, and the headers stages add.
// Inbound the bytes are never re-serialised; outbound a stage may replace the object (ILP generation),
// and then the bytes are re-emitted as canonical JSON, by the signer or, unsigned, at forwarding.
import { GatewayError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import type { ApiType } from './headers.js';
import { fspiopView, withMembers } from './iso20022.js';
import { hasNonCanonicalNumber } from './json-numbers.js';
import type { RouteTemplate } from './resources.js';

export type JsonObject = Record<string, unknown>;

/** How the signature of the message stands: the payload form that verified, or why there is none. */
export type SignatureState = 'unchecked' | 'raw' | 'sorted' | 'insertion' | 'skipped' | 'unsigned' | 'signed';

export class Message {
  #bytes: Buffer;
  #json: JsonObject | undefined;
  #rewritten = false;
  /** Headers a stage adds to or replaces on the forwarded request (lower-case names), e.g. FSPIOP-Signature. */
  readonly headers: Record<string, string> = {};
  signature: SignatureState = 'unchecked';

  readonly #arrivedSigned: boolean;
  #text: string | undefined;
  #view: JsonObject | undefined;
  /** How the body is written (Content-Type): FSPIOP or ISO 20022 JSON. */
  readonly apiType: ApiType;
  /** The route the message travels on; with apiType it says which ISO 20022 message the body is. */
  readonly template: RouteTemplate | undefined;

  /** `arrivedSigned`: the request carried an FSPIOP-Signature (its bytes must then reach the peer as they are). */
  constructor(bytes: Buffer, options: { arrivedSigned?: boolean; apiType?: ApiType; template?: RouteTemplate } = {}) {
    this.#bytes = bytes;
    this.#arrivedSigned = options.arrivedSigned ?? false;
    this.apiType = options.apiType ?? 'fspiop';
    this.template = options.template;
  }

  /**
   * The message as the checks read it: FSPIOP member names whatever the API type (iso20022.ts maps an ISO
   * 20022 body's members to them). Computed once per body.
   * @throws GatewayError GW_BODY_MALFORMED when the body is not a JSON object, or an ISO 20022 path read runs
   *   through a member that is no object.
   */
  view(): JsonObject {
    if (this.#view === undefined) {
      const json = this.json();
      this.#view = this.apiType === 'fspiop' || this.template === undefined ? json : fspiopView(this.apiType, this.template, json);
    }
    return this.#view;
  }

  /**
   * Outbound: sets FSPIOP-named members (ILP packet, condition, fulfilment, expiration) where the body's API
   * type keeps them, then rewrites as `rewrite` does.
   */
  complete(members: JsonObject): void {
    const json = this.json();
    this.rewrite(this.template === undefined ? { ...json, ...members } : withMembers(this.apiType, this.template, json, members));
  }

  /** The body as received, or as signed. */
  get bytes(): Buffer {
    return this.#bytes;
  }

  /** The bytes decoded as UTF-8, once: every scan and parse of the body reads this one string. */
  text(): string {
    this.#text ??= this.#bytes.toString('utf8');
    return this.#text;
  }

  /** True when a stage replaced the message object and the bytes are still to be re-emitted. */
  get rewritten(): boolean {
    return this.#rewritten;
  }

  /**
   * The message object, parsed from the bytes on first use (checkRequest has already refused duplicate
   * member names, excessive depth and bad UTF-8).
   * @throws GatewayError GW_BODY_MALFORMED when the body is not a JSON object.
   */
  json(): JsonObject {
    if (this.#json === undefined) this.#json = parseObject(this.text());
    return this.#json;
  }

  /** Whether json() has been computed (a large body is parsed in a turn of its own first). */
  get parsed(): boolean {
    return this.#json !== undefined;
  }

  /** Sets the parsed object computed elsewhere from these very bytes (see `parsed`). */
  adoptParsed(json: JsonObject): void {
    if (!this.#rewritten) {
      this.#json = json;
      this.#view = undefined;
    }
  }

  /**
   * Outbound: replaces the message object; the bytes are re-emitted before signing or sending. What is sent
   * must still mean what the local side sent and be what is signed, so a message that arrived signed cannot
   * be changed (its signature would no longer cover it), and one whose numbers the canonical re-emission
   * would spell otherwise is refused.
   * @throws GatewayError GW_HEADER_FORBIDDEN, GW_BODY_MALFORMED
   */
  rewrite(json: JsonObject): void {
    if (this.#arrivedSigned) throw new GatewayError('GW_HEADER_FORBIDDEN', { detail: 'the message is signed; completing it would change what was signed' });
    if (!this.#rewritten && hasNonCanonicalNumber(this.text())) {
      throw new GatewayError('GW_BODY_MALFORMED', { detail: 'a number is not in canonical form; re-emitting the message would change it' });
    }
    this.#json = json;
    this.#view = undefined;
    this.#rewritten = true;
  }

  /** Outbound: the signer's canonical bytes and headers are final. */
  signed(bytes: Buffer, headers: Readonly<Record<string, string>>): void {
    this.#bytes = bytes;
    this.#text = undefined;
    this.#json = undefined;
    this.#view = undefined;
    this.#rewritten = false;
    Object.assign(this.headers, headers);
    this.signature = 'signed';
  }

  /** The bytes to send: re-emitted canonical JSON when the object was replaced and not signed since. */
  wire(): Buffer {
    return this.#rewritten && this.#json !== undefined ? Buffer.from(canonicalJson(this.#json), 'utf8') : this.#bytes;
  }
}

export function parseObject(text: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new GatewayError('GW_BODY_MALFORMED', { detail: 'body is not JSON', cause });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new GatewayError('GW_BODY_MALFORMED', { detail: 'body is not a JSON object' });
  return v as JsonObject;
}
