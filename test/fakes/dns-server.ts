import dns2 from 'dns2';

const { Packet } = dns2;

/**
 * A local DNS server (dns2, UDP) answering TXT queries from `zone`: name →
 * TXT records (each one or more strings). Names absent → NXDOMAIN. The zone
 * is read per query, so a test may change it while the server runs.
 */
export async function startDnsServer(zone: Map<string, string[][]>): Promise<{ address: string; asked: string[]; close(): Promise<void> }> {
  const asked: string[] = [];
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const q = request.questions[0];
      const name = (q?.name ?? '').toLowerCase();
      asked.push(name);
      const records = zone.get(name);
      if (!records) response.header.rcode = Packet.RCODE.NXDOMAIN;
      else if (q?.type === Packet.TYPE.TXT) {
        for (const data of records) response.answers.push({ name: q.name, type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 60, data } as never);
      }
      void send(response);
    },
  });
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  return { address: `127.0.0.1:${addresses.udp!.port}`, asked, close: () => server.close() };
}

/** TXT records under which `domain` passes SPF, DKIM (selector s1) and DMARC. */
export function passingRecords(domain: string): [string, string[][]][] {
  return [
    [domain, [['v=spf1 include:amazonses.com -all']]],
    [`s1._domainkey.${domain}`, [['v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAz8pTq3Hb4Jx0JvKfT3yD5f0q2lYt']]],
    [`_dmarc.${domain}`, [['v=DMARC1; p=quarantine']]],
  ];
}
