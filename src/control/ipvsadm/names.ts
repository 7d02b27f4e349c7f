// Port and host names for uvsadm without any I/O or DNS: a services database in
// /etc/services form (a built-in excerpt of Debian's netbase list, or the text of the
// system's /etc/services handed in by the caller), answering getservbyname/getservbyport
// as ipvsadm uses them (ipvsadm.md 3.1 and 6.4). Hosts: only literal addresses are
// accepted unless the caller supplies a resolver; ipvsadm's gethostbyname failure is then
// what a name gets ("illegal ... address[:port] specified"), and listings print addresses
// numerically (the layout is the same either way: ipvsadm pads names and numbers alike).

import type { Protocol } from '../../config/model.js';
import type { NameService } from './types.js';

/** Excerpt of Debian netbase /etc/services: the names ipvsadm setups commonly meet. */
const BUILTIN_SERVICES = `
echo 7/tcp
echo 7/udp
discard 9/tcp sink null
discard 9/udp sink null
daytime 13/tcp
daytime 13/udp
ftp-data 20/tcp
ftp 21/tcp
ssh 22/tcp
telnet 23/tcp
smtp 25/tcp mail
time 37/tcp timserver
time 37/udp timserver
whois 43/tcp nicname
tacacs 49/tcp
tacacs 49/udp
domain 53/tcp
domain 53/udp
bootps 67/udp
bootpc 68/udp
tftp 69/udp
gopher 70/tcp
finger 79/tcp
http 80/tcp www
kerberos 88/tcp kerberos5 krb5 kerberos-sec
kerberos 88/udp kerberos5 krb5 kerberos-sec
pop3 110/tcp pop-3
sunrpc 111/tcp portmapper
sunrpc 111/udp portmapper
auth 113/tcp authentication tap ident
nntp 119/tcp readnews untp
ntp 123/udp
epmap 135/tcp loc-srv
netbios-ns 137/udp
netbios-dgm 138/udp
netbios-ssn 139/tcp
imap2 143/tcp imap
snmp 161/tcp
snmp 161/udp
snmp-trap 162/tcp snmptrap
snmp-trap 162/udp snmptrap
bgp 179/tcp
irc 194/tcp
ldap 389/tcp
ldap 389/udp
https 443/tcp
https 443/udp
microsoft-ds 445/tcp
kpasswd 464/tcp
kpasswd 464/udp
submissions 465/tcp ssmtp smtps urd
exec 512/tcp
biff 512/udp comsat
login 513/tcp
who 513/udp whod
shell 514/tcp cmd syslog
syslog 514/udp
printer 515/tcp spooler
route 520/udp router routed
submission 587/tcp
ldaps 636/tcp
ldaps 636/udp
rsync 873/tcp
ftps-data 989/tcp
ftps 990/tcp
imaps 993/tcp
pop3s 995/tcp
socks 1080/tcp
openvpn 1194/tcp
openvpn 1194/udp
ms-sql-s 1433/tcp
ms-sql-m 1434/udp
radius 1812/tcp
radius 1812/udp
radius-acct 1813/tcp radacct
radius-acct 1813/udp radacct
nfs 2049/tcp
nfs 2049/udp
gnunet 2086/tcp
iscsi-target 3260/tcp
mysql 3306/tcp
ms-wbt-server 3389/tcp
sip 5060/tcp
sip 5060/udp
sip-tls 5061/tcp
sip-tls 5061/udp
xmpp-client 5222/tcp jabber-client
postgresql 5432/tcp postgres
x11 6000/tcp x11-0
http-alt 8080/tcp webcache
`;

interface ServiceEntry {
  name: string;
  aliases: string[];
  port: number;
  protocol: string;
}

/** Parse /etc/services text (comments after '#', "name port/proto aliases..."). */
export function parseServices(text: string): ServiceEntry[] {
  const entries: ServiceEntry[] = [];
  for (const raw of text.split('\n')) {
    const [name, portProto, ...aliases] = raw.replace(/#.*/, '').trim().split(/\s+/);
    const m = /^(\d+)\/(\w+)$/.exec(portProto ?? '');
    if (!name || !m || Number(m[1]) > 65535) continue;
    entries.push({ name, aliases, port: Number(m[1]), protocol: m[2]!.toLowerCase() });
  }
  return entries;
}

/** A NameService over a services list (first entry wins, as getservby* return the first match). */
export function servicesNameService(entries: readonly ServiceEntry[], hosts: Pick<NameService, 'hostAddress' | 'hostName'> = {}): NameService {
  const byName = new Map<string, number>();
  const byPort = new Map<string, string>();
  for (const e of entries) {
    for (const n of [e.name, ...e.aliases]) if (!byName.has(`${n}/${e.protocol}`)) byName.set(`${n}/${e.protocol}`, e.port);
    if (!byPort.has(`${e.port}/${e.protocol}`)) byPort.set(`${e.port}/${e.protocol}`, e.name);
  }
  return {
    portOf: (name: string, protocol: Protocol) => byName.get(`${name}/${protocol}`),
    nameOfPort: (port: number, protocol: Protocol) => byPort.get(`${port}/${protocol}`),
    ...hosts,
  };
}

/** Built-in names only, no host resolution. */
export const builtinNames: NameService = servicesNameService(parseServices(BUILTIN_SERVICES));

/** Names from the text of /etc/services (read by the caller), plus optional host lookups. */
export function namesFromServicesFile(text: string, hosts: Pick<NameService, 'hostAddress' | 'hostName'> = {}): NameService {
  return servicesNameService(parseServices(text), hosts);
}
