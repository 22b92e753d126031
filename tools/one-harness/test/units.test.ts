// Fast checks of the pure parts: the 7.x stderr rules, the Ruby imitations, transfer-file parsing.
import { describe, expect, it } from 'vitest';
import {
  infoFromExecution,
  logMessages,
  parseTransferFile,
  protocolLines,
  shellwordsEscape,
} from '../src/index.js';
import { rubyIntegerOfDigits, rubyStrip, rubyToI } from '../src/ruby.js';

const run = (code: number, stderr: string, stdout = '') => infoFromExecution({ code, stdout, stderr });

describe('infoFromExecution (get_info_from_execution, 7.x)', () => {
  it('forwards prefixed lines as LOG with the optional number as id, else -1, on success too', () => {
    const stderr = [
      'ERROR: 7 one',
      'INFO: two',
      'WARN: 12 three',
      'DEBUG:   four  ',
      '  ERROR: 5 indented lines are stripped first',
      'ERROR:no-space is a plain line',
      'NOTICE: unknown prefixes are plain',
    ].join('\n');
    expect(run(0, stderr, 'out\n')).toEqual({
      result: 'SUCCESS',
      info: 'out\n',
      logs: [
        'LOG E 7 one',
        'LOG I -1 two',
        'LOG W 12 three',
        'LOG D -1 four',
        'LOG E 5 indented lines are stripped first',
      ],
    });
  });

  it('glues plain stderr lines with no separator into the failure INFO, or - when there are none', () => {
    expect(run(1, 'first\n\n  second  \nERROR: diag\n').info).toBe('firstsecond');
    expect(run(3, 'ERROR: only diagnostics\n').info).toBe('-');
    expect(run(0, '', '').info).toBe('-');
  });

  it('reads the id like Ruby Integer(): octal with a leading 0, invalid octal gives -1, big numbers exact', () => {
    expect(run(0, 'ERROR: 010 x').logs).toEqual(['LOG E 8 x']);
    expect(run(0, 'ERROR: 09 x').logs).toEqual(['LOG E -1 x']);
    expect(run(0, 'ERROR: 123456789012345678901234567890 x').logs).toEqual([
      'LOG E 123456789012345678901234567890 x',
    ]);
    // Digits glued to text still split off: `(\d+)?\s*(.*)`.
    expect(run(0, 'ERROR: 2024-01-01 happened').logs).toEqual(['LOG E 2024 -01-01 happened']);
  });

  it('handles a huge stderr without choking', () => {
    const stderr = `${'x'.repeat(1_000_000)}\nERROR: tail\n`;
    const info = run(1, stderr);
    expect(info.info).toHaveLength(1_000_000);
    expect(info.logs).toEqual(['LOG E -1 tail']);
  });
});

describe('infoFromExecution with the 6.2 – 6.10 rules', () => {
  it('forwards nothing; failure INFO is the whole stderr with newlines as blanks', () => {
    const stderr = 'ERROR: diag\nError creating LV\nsecond\n';
    expect(infoFromExecution({ code: 1, stdout: '', stderr }, '6')).toEqual({
      result: 'FAILURE',
      info: 'ERROR: diag Error creating LV second',
      logs: [],
    });
    expect(infoFromExecution({ code: 1, stdout: '', stderr: '\n' }, '6').info).toBe('-');
    expect(infoFromExecution({ code: 0, stdout: '1024\n', stderr }, '6')).toEqual({
      result: 'SUCCESS',
      info: '1024\n',
      logs: [],
    });
  });
});

describe('logMessages (DriverExecHelper#log)', () => {
  it('one LOG per line, ERROR:/DEBUG:/INFO: severities, WARN: not recognised, whole text stripped first', () => {
    expect(logMessages('8', '\n\nERROR: a\nDEBUG:b\nWARN: c\n\nplain  \n\n')).toEqual([
      'LOG E 8 a',
      'LOG D 8 b',
      'LOG I 8 WARN: c',
      'LOG I 8 ',
      'LOG I 8 plain',
    ]);
    expect(logMessages('8', '   ')).toEqual([]);
  });
});

describe('protocolLines (Ruby puts)', () => {
  it('a final newline adds no line; inner newlines split the message', () => {
    expect(protocolLines('STAT SUCCESS 0 1024\n')).toEqual(['STAT SUCCESS 0 1024']);
    expect(protocolLines('CP SUCCESS 1 a\nb\n')).toEqual(['CP SUCCESS 1 a', 'b']);
  });
});

describe('Ruby imitations', () => {
  it('shellwordsEscape matches Shellwords.escape', () => {
    expect(shellwordsEscape('one-node1:/var/lib/one//datastores/100/7/disk.0')).toBe(
      'one-node1:/var/lib/one//datastores/100/7/disk.0',
    );
    expect(shellwordsEscape("/var/lib/one/files/a.sh:'init.sh'")).toBe(
      "/var/lib/one/files/a.sh:\\'init.sh\\'",
    );
    expect(shellwordsEscape('')).toBe("''");
    expect(shellwordsEscape('a b$c')).toBe('a\\ b\\$c');
    expect(shellwordsEscape('a\nb')).toBe("a'\n'b");
    expect(shellwordsEscape('é')).toBe('\\é');
  });

  it('rubyStrip removes NULs and ASCII blanks only; rubyToI reads leading digits', () => {
    expect(rubyStrip('\0 \t x \u00a0\n')).toBe('x \u00a0');
    expect([rubyToI('42abc'), rubyToI(' -3'), rubyToI('1_000'), rubyToI('x'), rubyToI('')]).toEqual([
      42, -3, 1000, 0, 0,
    ]);
    expect(rubyIntegerOfDigits('0')).toBe('0');
  });
});

describe('parseTransferFile', () => {
  it('skips comments and blank lines, splits on any whitespace, keeps a later # as a word', () => {
    const text =
      '# comment\n   # indented comment\n\n \t \nCLONE  gfs2clvm\ta b\r\nDELETE gfs2clvm x # not a comment\n';
    expect(parseTransferFile(text)).toEqual([
      ['CLONE', 'gfs2clvm', 'a', 'b'],
      ['DELETE', 'gfs2clvm', 'x', '#', 'not', 'a', 'comment'],
    ]);
    expect(parseTransferFile('')).toEqual([]);
  });
});
