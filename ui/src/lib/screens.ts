// The app's screens, in navigation order.
export type ScreenId = 'chat' | 'pairing' | 'files' | 'grid' | 'settings';

export interface ScreenInfo {
  id: ScreenId;
  label: string;
  /** SVG path data for a 24×24 stroke icon. */
  icon: string;
}

export const SCREENS: ScreenInfo[] = [
  { id: 'chat', label: 'Chat', icon: 'M4 5h16v11H9l-5 4z' },
  { id: 'pairing', label: 'Pairing', icon: 'M4 4h6v6H4zM14 4h6v6h-6zM4 14h6v6H4zM14 14h2v2h-2zM18 18h2v2h-2zM14 18h2M18 14h2' },
  { id: 'files', label: 'Files', icon: 'M6 3h8l4 4v14H6zM14 3v4h4M12 11v6M9 14l3 3 3-3' },
  { id: 'grid', label: 'Grid', icon: 'M5 5h2v2H5zM11 5h2v2h-2zM17 5h2v2h-2zM5 11h2v2H5zM11 11h2v2h-2zM17 11h2v2h-2zM5 17h2v2H5zM11 17h2v2h-2zM17 17h2v2h-2z' },
  { id: 'settings', label: 'Settings', icon: 'M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM12 2v3M12 19v3M2 12h3M19 12h3M5 5l2 2M17 17l2 2M5 19l2-2M17 7l2-2' },
];
