SELECT 1; -- The copy stays filled; the previous migration's down drops its columns.
