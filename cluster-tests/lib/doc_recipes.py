#!/usr/bin/env python3
"""doc_recipes.py - the fenced shell blocks of the docs, for doc-recipes.sh.

  doc_recipes.py lint FILE...
      every fenced block must have, on the line right before its opening
      fence, <!-- recipe: NAME --> (run by cluster-tests/doc-recipes.sh)
      or <!-- not-run: REASON -->. Prints one line per block
      ("FILE LINE recipe NAME" / "FILE LINE not-run REASON") and one
      "ERROR FILE:LINE: ..." per problem; exit 1 if there is any.
  doc_recipes.py commands FILE NAME [-w OLD=NEW]... [-s OLD=NEW]...
      the commands of the block tagged recipe NAME in FILE, NUL-separated:
      continuation lines joined, here-documents kept with their command,
      blank and comment-only lines dropped; -w replaces OLD as a whole word
      (vm1, not vm10), -s as a plain string (an address prefix).
  doc_recipes.py primitive COMMAND PRIMITIVE.xml
      compares a `crm configure primitive ...` or `pcs resource create ...`
      command with the primitive pacemaker stored (cibadmin -Q --xpath):
      agent, every params/meta value, every op attribute the command gives.
      Prints one line per difference; exit 1 if there is any.
"""
import re
import shlex
import sys
import xml.etree.ElementTree as ET

TAG = re.compile(r'^\s*<!--\s*(recipe|not-run):\s*(.*?)\s*-->\s*$')
FENCE = re.compile(r'^( {0,3})(`{3,}|~{3,})(.*)$')
NAME = re.compile(r'^[a-z0-9][a-z0-9-]*$')
RECIPE_INFO = ('sh', 'bash', 'shell')


def blocks(path):
    """(line of the opening fence, info string, tag kind, tag text, body
    lines) of every fenced block of a markdown file"""
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group(2), m.group(3).strip()
        start = i
        tag = TAG.match(lines[i - 1]) if i > 0 else None
        body = []
        i += 1
        while i < len(lines):
            m2 = FENCE.match(lines[i])
            if m2 and m2.group(2)[0] == fence[0] and len(m2.group(2)) >= len(fence) \
                    and not m2.group(3).strip():
                break
            body.append(lines[i])
            i += 1
        out.append((start + 1, info.split()[0] if info else '',
                    tag.group(1) if tag else None, tag.group(2) if tag else None, body))
        i += 1
    return out


def lint(paths):
    errors, seen = 0, {}
    for p in paths:
        for line, info, kind, text, _ in blocks(p):
            where = '%s:%d' % (p, line)
            if kind is None:
                print('ERROR %s: a ```%s block without <!-- recipe: NAME --> or '
                      '<!-- not-run: REASON --> on the line before it' % (where, info))
                errors += 1
                continue
            if not text:
                print('ERROR %s: <!-- %s: --> needs a %s' %
                      (where, kind, 'name' if kind == 'recipe' else 'reason'))
                errors += 1
                continue
            if kind == 'recipe':
                if not NAME.match(text):
                    print('ERROR %s: recipe name %r: lower case, digits, dashes' % (where, text))
                    errors += 1
                    continue
                if info not in RECIPE_INFO:
                    print('ERROR %s: recipe %s is a ```%s block, not shell (%s)' %
                          (where, text, info, ', '.join(RECIPE_INFO)))
                    errors += 1
                if text in seen:
                    print('ERROR %s: recipe %s is also at %s' % (where, text, seen[text]))
                    errors += 1
                seen[text] = where
            print('%s %d %s %s' % (p, line, kind, text))
    return 1 if errors else 0


def split_commands(body):
    """logical commands of a shell block: continuation lines joined,
    here-documents attached to their command"""
    cmds, cur, heredoc = [], '', None
    for raw in body:
        if heredoc is not None:
            cur += '\n' + raw
            if (raw.lstrip('\t') if heredoc[1] else raw) == heredoc[0]:
                cmds.append(cur)
                cur, heredoc = '', None
            continue
        line = raw.rstrip()
        if not cur and (not line.strip() or line.lstrip().startswith('#')):
            continue
        if line.endswith('\\'):
            cur += line[:-1] + ' '
            continue
        cur += line
        m = re.search(r'<<(-?)\s*([\'"]?)(\w+)\2', cur)
        if m:
            heredoc = (m.group(3), m.group(1) == '-')
            continue
        cmds.append(cur)
        cur = ''
    if cur.strip():
        cmds.append(cur)
    return cmds


def commands(path, name, maps):
    for line, _, kind, text, body in blocks(path):
        if kind == 'recipe' and text == name:
            break
    else:
        print('doc_recipes: no recipe %s in %s' % (name, path), file=sys.stderr)
        return 1
    text = '\n'.join(body)
    for how, old, new in maps:
        if how == '-w':
            text = re.sub(r'(?<![\w-])%s(?![\w-])' % re.escape(old), new, text)
        else:
            text = text.replace(old, new)
    for c in split_commands(text.split('\n')):
        sys.stdout.write(c + '\0')
    return 0


def duration_ms(v):
    m = re.match(r'^\s*(\d+)\s*(ms|msec|s|sec|m|min|h|hr)?\s*$', v or '')
    if not m:
        return v
    mult = {'ms': 1, 'msec': 1, None: 1000, 's': 1000, 'sec': 1000, 'm': 60000,
            'min': 60000, 'h': 3600000, 'hr': 3600000}[m.group(2)]
    return int(m.group(1)) * mult


def parse_definition(cmd):
    """{'id', 'agent', 'params', 'meta', 'ops': [(name, {attr: value})]}
    of a crmsh primitive or a pcs resource create command"""
    t = shlex.split(cmd, comments=True)
    d = {'params': {}, 'meta': {}, 'ops': []}
    if t[:3] == ['crm', 'configure', 'primitive']:
        d['id'], d['agent'] = t[3], t[4]
        sect, op = None, None
        for tok in t[5:]:
            if tok in ('params', 'meta', 'utilization'):
                sect = tok
            elif tok == 'op':
                sect, op = 'op', None
            elif sect == 'op' and op is None:
                op = (tok, {})
                d['ops'].append(op)
            elif '=' in tok:
                k, v = tok.split('=', 1)
                if sect == 'op':
                    op[1][k] = v
                elif sect in ('params', 'meta'):
                    d[sect][k] = v
            else:
                raise ValueError('crm primitive: unexpected %r' % tok)
    elif t[:3] == ['pcs', 'resource', 'create']:
        d['id'], d['agent'] = t[3], t[4]
        sect, op = 'params', None
        for tok in t[5:]:
            if tok in ('meta', 'op'):
                sect, op = tok, None
            elif tok.startswith('--'):
                continue
            elif sect == 'op' and '=' not in tok:
                op = (tok, {})
                d['ops'].append(op)
            elif '=' in tok:
                k, v = tok.split('=', 1)
                if sect == 'op':
                    op[1][k] = v
                else:
                    d[sect][k] = v
            else:
                raise ValueError('pcs resource create: unexpected %r' % tok)
    else:
        raise ValueError('not a crm configure primitive / pcs resource create command')
    return d


def primitive(cmd, xml_path):
    d = parse_definition(cmd)
    with open(xml_path, encoding='utf-8') as f:
        text = f.read().strip()
    if not text.startswith('<primitive'):
        print('%s: no such primitive in the CIB' % d['id'])
        return 1
    p = ET.fromstring(text)
    diffs = []
    parts = d['agent'].split(':')
    want = dict(zip(('class', 'provider', 'type'), parts)) if len(parts) == 3 else \
        {'class': 'ocf', 'provider': 'heartbeat', 'type': parts[-1]}
    for k, v in want.items():
        if p.get(k) != v:
            diffs.append('agent %s: %s in the CIB, %s in the recipe' % (k, p.get(k), v))
    for sect, tag in (('params', 'instance_attributes'), ('meta', 'meta_attributes')):
        have = {n.get('name'): n.get('value') for s in p.findall(tag) for n in s.findall('nvpair')}
        for k, v in d[sect].items():
            if have.get(k) != v:
                diffs.append('%s %s=%s: the CIB has %s' % (sect, k, v, have.get(k, 'none')))
    ops = p.findall('operations/op')
    for name, attrs in d['ops']:
        cands = [o for o in ops if o.get('name') == name]
        if 'interval' in attrs:
            cands = [o for o in cands
                     if duration_ms(o.get('interval')) == duration_ms(attrs['interval'])]
        if not cands:
            diffs.append('op %s %s: not in the CIB' % (name, attrs))
            continue
        o = cands[0]
        for k, v in attrs.items():
            got = o.get(k)
            same = duration_ms(got) == duration_ms(v) if k in ('interval', 'timeout') else got == v
            if not same:
                diffs.append('op %s %s=%s: the CIB has %s' % (name, k, v, got))
    for line in diffs:
        print(line)
    return 1 if diffs else 0


def main(argv):
    if len(argv) >= 2 and argv[0] == 'lint':
        return lint(argv[1:])
    if len(argv) >= 3 and argv[0] == 'commands':
        maps, rest = [], argv[3:]
        while rest:
            if len(rest) < 2 or rest[0] not in ('-w', '-s') or '=' not in rest[1]:
                print('doc_recipes: commands: -w|-s OLD=NEW', file=sys.stderr)
                return 2
            old, new = rest[1].split('=', 1)
            maps.append((rest[0], old, new))
            rest = rest[2:]
        return commands(argv[1], argv[2], maps)
    if len(argv) == 3 and argv[0] == 'primitive':
        try:
            return primitive(argv[1], argv[2])
        except (ValueError, ET.ParseError) as e:
            print(e)
            return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
