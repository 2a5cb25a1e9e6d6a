// Types for schema-engine.mjs (used by the tests; the scripts themselves are plain JavaScript).
export declare const LOCKFILE_NAME: string;
export declare const POSTGRES_LOCKFILE: string;

export interface MigrationsList {
  baseDir: string;
  lockfile: { path: string; content: string | null };
  migrationDirectories: { path: string; migrationFile: { path: string; content: { tag: 'ok' | 'error'; value: string } } }[];
  shadowDbInitScript: string;
}

export interface EngineOptions {
  url: string;
  log?: (message: string) => void;
}

export declare function readMigrationsList(migrationsDir: string, shadowDbInitScript?: string): MigrationsList;

export declare function diffMigrationsToSchema(
  options: EngineOptions & { schemaPath: string; migrationsDir: string },
): Promise<string>;

export declare function diagnoseMigrationHistory(options: EngineOptions & { migrationsDir: string }): Promise<{
  editedMigrationNames: string[];
  failedMigrationNames: string[];
  hasMigrationsTable: boolean;
  history:
    | { diagnostic: 'databaseIsBehind'; unappliedMigrationNames: string[] }
    | { diagnostic: 'migrationsDirectoryIsBehind'; unpersistedMigrationNames: string[] }
    | { diagnostic: 'historiesDiverge'; lastCommonMigrationName: string | null; unpersistedMigrationNames: string[]; unappliedMigrationNames: string[] }
    | null;
}>;

export declare function applyMigrations(options: EngineOptions & { migrationsDir: string }): Promise<{
  appliedMigrationNames: string[];
}>;
