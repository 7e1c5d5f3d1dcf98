// The identity stage of both pipelines (IDENTITY_CHECK, docs/security.md class 11): the FSP ids a body names
// agree with FSPIOP-Source and FSPIOP-Destination where the message ties them (src/fspiop/identity.ts). Inbound it
// runs after JWS verification, so a body whose signature fails is reported as that and never as a mismatch, and
// before ILP, so a refused message leaves no ILP record; outbound it runs before ILP completion and signing, so the
// gateway never signs a message whose body speaks for another FSP than its headers.
import { GatewayError, isGatewayError } from '../errors.js';
import { hasRelations, identityMismatches, type Mismatch } from '../fspiop/identity.js';
import { isoPathOf } from '../fspiop/iso20022.js';
import { type Message, parseObject } from '../fspiop/message.js';
import type { RouteTemplate } from '../fspiop/resources.js';
import type { Telemetry } from '../telemetry/types.js';
import { nextTurn, YIELD_ABOVE_BYTES } from '../util/turns.js';
import { type GatewayMiddleware, header } from './context.js';
import type { RequestLogger } from './stages.js';

export interface IdentityOptions {
  readonly listener: 'inbound' | 'outbound';
  /** IDENTITY_CHECK=enforce refuses (3100); otherwise (log) each mismatch is logged and counted and the message forwarded. */
  readonly enforce: boolean;
  /** Ids a header may name without its relations being compared (HUB_ID, TRUSTED_PROXY_PEERS). */
  readonly relays: readonly string[];
  readonly telemetry: Telemetry;
  /** Where the log policy writes its warnings. */
  readonly logger: Pick<RequestLogger, 'warn'>;
}

/** How a refusal and a warning name the member: its ISO 20022 path first for an ISO 20022 body, as the sender wrote it. */
function memberName(m: Message, template: RouteTemplate, x: Mismatch): string {
  const iso = m.apiType === 'iso20022' ? isoPathOf(template, x.member) : undefined;
  return iso === undefined ? x.member : `${iso} (${x.member})`;
}

const HEADER_NAME = { source: 'FSPIOP-Source', destination: 'FSPIOP-Destination' } as const;

/**
 * @throws GatewayError GW_IDENTITY_MISMATCH (enforce) naming the first member that differs; GW_BODY_MALFORMED
 *   (enforce) when a message with relations has a body that is not a JSON object (its identity cannot be read), and
 *   (either policy) when an ISO 20022 member it reads sits behind a member that is no object.
 */
export function checkIdentity(o: IdentityOptions): GatewayMiddleware {
  const relays: ReadonlySet<string> = new Set(o.relays);
  const policy = o.enforce ? 'enforce' : 'log';
  return async function checkIdentity(c, next) {
    const template = c.get('route').template;
    const m = c.get('message');
    if (hasRelations(template) && m.bytes.length > 0) {
      let readable = true;
      try {
        // A large body is parsed in a turn of its own (docs/security.md class 10), as the ILP stage does.
        if (!m.parsed && m.bytes.length > YIELD_ABOVE_BYTES) {
          await nextTurn();
          m.adoptParsed(parseObject(m.text()));
        }
        m.json();
      } catch (e) {
        // A body that is not a JSON object names no FSP: enforce cannot vouch for it, log has nothing to report.
        if (o.enforce || !(isGatewayError(e) && e.code === 'GW_BODY_MALFORMED')) throw e;
        readable = false;
      }
      // An ISO 20022 body whose mapped member sits behind a non-object (an agent wrapped in an array, which Mojaloop's
      // transformer reads through) is refused whatever the policy: read as absent, its FSP would be compared with
      // nothing, and log mode would forward it unreported (hostile review of 2026-12-02).
      const mismatches: Mismatch[] = readable
        ? identityMismatches(template, m.view(), { source: header(c, 'fspiop-source'), destination: header(c, 'fspiop-destination') }, relays)
        : [];
      for (const x of mismatches) o.telemetry.identityMismatch({ listener: o.listener, template, member: x.member, policy });
      const first = mismatches[0];
      if (o.enforce && first !== undefined) {
        throw new GatewayError('GW_IDENTITY_MISMATCH', {
          detail: `${memberName(m, template, first)} differs from ${HEADER_NAME[first.header]}`,
          context: { member: first.member, header: first.header, ...(first.index === undefined ? {} : { index: first.index }) },
        });
      }
      for (const x of mismatches) {
        o.logger.warn(
          {
            requestId: c.get('requestId'),
            listener: o.listener,
            route: template,
            member: memberName(m, template, x),
            header: x.header,
            ...(x.index === undefined ? {} : { index: x.index }),
            source: header(c, 'fspiop-source'),
            destination: header(c, 'fspiop-destination'),
            policy,
          },
          'identity mismatch',
        );
      }
    }
    await next();
  };
}
