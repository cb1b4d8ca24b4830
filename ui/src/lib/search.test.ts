import { describe, expect, it } from 'vitest';
import { snippetParts } from './search';

describe('snippetParts', () => {
  it('splits a snippet into text and matches', () => {
    expect(snippetParts('Yes! The «harbour» café at «eight».')).toEqual([
      { text: 'Yes! The ', match: false },
      { text: 'harbour', match: true },
      { text: ' café at ', match: false },
      { text: 'eight', match: true },
      { text: '.', match: false },
    ]);
    expect(snippetParts('«Lunch»')).toEqual([{ text: 'Lunch', match: true }]);
    expect(snippetParts('…the «plan»…')).toEqual([
      { text: '…the ', match: false },
      { text: 'plan', match: true },
      { text: '…', match: false },
    ]);
  });

  it('keeps unpaired markers and markup as plain text', () => {
    expect(snippetParts('')).toEqual([]);
    expect(snippetParts('a « b')).toEqual([{ text: 'a « b', match: false }]);
    expect(snippetParts('a » b')).toEqual([{ text: 'a » b', match: false }]);
    expect(snippetParts('<b>«x»</b>')).toEqual([
      { text: '<b>', match: false },
      { text: 'x', match: true },
      { text: '</b>', match: false },
    ]);
  });
});
