import { describe, expect, it, vi } from 'vitest';
import { FileDrag } from './fileDrag.svelte';

describe('FileDrag', () => {
  it('counts the files of a drag and hands a drop its paths', () => {
    const drag = new FileDrag();
    const ondrop = vi.fn();
    drag.follow({ type: 'enter', paths: ['/a', '/b'] }, ondrop);
    expect([drag.dragging, drag.count]).toEqual([true, 2]);
    drag.follow({ type: 'over' }, ondrop);
    expect(drag.dragging).toBe(true);
    drag.follow({ type: 'leave' }, ondrop);
    expect(drag.dragging).toBe(false);
    expect(ondrop).not.toHaveBeenCalled();
    drag.follow({ type: 'drop', paths: ['/c'] }, ondrop);
    expect(drag.dragging).toBe(false);
    expect(ondrop).toHaveBeenCalledWith(['/c']);
  });
});
