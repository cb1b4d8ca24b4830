// Files dragged from the desktop over a screen: whether a drag is under way
// and how many files it carries (for the drop overlay), following the
// window's drag-and-drop events. The Chat and Files screens each keep one.
import type { FileDrop } from './ipc';

export class FileDrag {
  /** Files are being dragged over the window. */
  dragging = $state(false);
  /** How many files the drag carries (0 until known). */
  count = $state(0);

  /** Follows one drag-and-drop event; a drop ends the drag and hands its
   * paths to `ondrop`. */
  follow(drop: FileDrop, ondrop: (paths: string[]) => void): void {
    if (drop.type === 'enter') {
      this.dragging = true;
      this.count = drop.paths.length;
    } else if (drop.type === 'over') {
      this.dragging = true;
    } else if (drop.type === 'leave') {
      this.dragging = false;
    } else {
      this.dragging = false;
      ondrop(drop.paths);
    }
  }
}
