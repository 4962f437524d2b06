// Reads the public surface of src/index.ts with the TypeScript compiler: which names are values,
// and which of the project's own named types a user meets through them without being able to name
// them (an options object a constructor wants, a type a method returns).
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = resolve(__dirname, '../..');

/** One exported name, as a user importing the package root sees it. */
export interface PublicName {
  readonly name: string;
  /** True when `import { name }` gives a runtime value (not only a type). */
  readonly value: boolean;
  /** `class`, `function`, `const`, `interface` or `type`. */
  readonly kind: string;
}

/** What a reading of an entry point found. */
export interface PublicSurface {
  readonly names: readonly PublicName[];
  /**
   * The project's named types a user passes to an exported value (its parameters, and what they
   * hold, recursively: an options object's nested options, a callback's event) that are not
   * exported, each as `Type (src/file.ts) via where`. A user can build these but not name them.
   */
  readonly unnamedInputs: readonly string[];
  /**
   * The project's named types that appear in the signature of an exported value (constructor and
   * call parameters, return types, public members of the classes and types reached) but are not
   * exported themselves, each as `Type (src/file.ts) via Where.member`.
   */
  readonly unnamed: readonly string[];
  /** Exported types that no exported value leads to (nothing a user calls gives or takes them). */
  readonly unreachable: readonly string[];
}

function programFor(entry: string): ts.Program {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  return ts.createProgram([entry], { ...config.options, noEmit: true });
}

const NAMED = ts.SymbolFlags.Class | ts.SymbolFlags.Interface;
const UNNAMED =
  ts.SymbolFlags.TypeLiteral |
  ts.SymbolFlags.ObjectLiteral |
  ts.SymbolFlags.Method |
  ts.SymbolFlags.Function;

function kindOf(symbol: ts.Symbol): string {
  if (symbol.flags & ts.SymbolFlags.Class) return 'class';
  if (symbol.flags & ts.SymbolFlags.Function) return 'function';
  if (symbol.flags & ts.SymbolFlags.Variable) return 'const';
  if (symbol.flags & ts.SymbolFlags.Interface) return 'interface';
  return 'type';
}

/** `export type { X }` and `export { type X }` give no value even when X is a class. */
function isTypeOnlyExport(symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some(
    (declaration) =>
      ts.isExportSpecifier(declaration) &&
      (declaration.isTypeOnly || declaration.parent.parent.isTypeOnly),
  );
}

/** Declared in the folder of the entry point (src/ for the package): a type of ours. */
function isOwnIn(folder: string, symbol: ts.Symbol | undefined): boolean {
  return (symbol?.declarations ?? []).some((declaration) =>
    resolve(declaration.getSourceFile().fileName).startsWith(folder),
  );
}

function isHidden(symbol: ts.Symbol): boolean {
  if (symbol.name.startsWith('#') || symbol.name.startsWith('__@')) return true;
  return (symbol.declarations ?? []).some(
    (declaration) =>
      (ts.getCombinedModifierFlags(declaration) &
        (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !==
      0,
  );
}

/** Reads `entry` (default: src/index.ts) as the package root's consumers see it. */
export function readPublicSurface(entry = join(root, 'src', 'index.ts')): PublicSurface {
  const folder = dirname(resolve(entry)) + sep;
  const isOwn = (symbol: ts.Symbol | undefined): boolean => isOwnIn(folder, symbol);
  const program = programFor(entry);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const module = source && checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`${entry} is not a module`);

  const names: PublicName[] = [];
  const exported = new Set<ts.Symbol>();
  const values: ts.Symbol[] = [];
  for (const symbol of checker.getExportsOfModule(module)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const value = !isTypeOnlyExport(symbol) && (target.flags & ts.SymbolFlags.Value) !== 0;
    names.push({ name: symbol.name, value, kind: kindOf(target) });
    exported.add(target);
    if (value) values.push(target);
  }

  /** The project's types met from the exported values; `inputsOnly`: through parameters alone. */
  const closure = (inputsOnly: boolean): { missing: string[]; reached: Set<ts.Symbol> } => {
    const missing = new Map<ts.Symbol, string>();
    const seenTypes = new Set<ts.Type>();
    const expanded = new Set<ts.Symbol>();
    const reached = new Set<ts.Symbol>(values);

    const where = (symbol: ts.Symbol): string => {
      const file = symbol.declarations?.[0]?.getSourceFile().fileName ?? '';
      return relative(root, file);
    };

    /** Records a named type of ours met at `path`, then walks what a user can reach through it. */
    const meetNamed = (symbol: ts.Symbol, type: ts.Type, path: string): void => {
      if (!isOwn(symbol)) return;
      reached.add(symbol);
      if (!exported.has(symbol) && !missing.has(symbol)) {
        missing.set(symbol, `${symbol.name} (${where(symbol)}) via ${path}`);
      }
      if (expanded.has(symbol)) return;
      expanded.add(symbol);
      walkMembers(type, symbol.name);
    };

    const walkSignature = (signature: ts.Signature, path: string): void => {
      for (const parameter of signature.getParameters()) {
        const declaration = parameter.valueDeclaration;
        if (declaration === undefined) continue;
        walk(
          checker.getTypeOfSymbolAtLocation(parameter, declaration),
          `${path}(${parameter.name})`,
        );
      }
      walk(signature.getReturnType(), `${path}()`);
    };

    const walkMembers = (type: ts.Type, path: string): void => {
      for (const property of checker.getPropertiesOfType(type)) {
        if (isHidden(property)) continue;
        const declaration = property.valueDeclaration ?? property.declarations?.[0];
        if (declaration === undefined) continue;
        walk(checker.getTypeOfSymbolAtLocation(property, declaration), `${path}.${property.name}`);
      }
      for (const signature of type.getCallSignatures()) walkSignature(signature, path);
      for (const signature of type.getConstructSignatures()) walkSignature(signature, path);
    };

    const walk = (type: ts.Type, path: string): void => {
      if (process.env.SURFACE_DEBUG)
        process.stderr.write(`${path}: ${checker.typeToString(type)}\n`);
      if (seenTypes.has(type)) return;
      seenTypes.add(type);
      if (type.aliasSymbol !== undefined && isOwn(type.aliasSymbol)) {
        for (const argument of type.aliasTypeArguments ?? []) walk(argument, path);
        meetNamed(type.aliasSymbol, type, path);
        return;
      }
      if (type.isUnionOrIntersection()) {
        for (const member of type.types) walk(member, path);
        return;
      }
      if (type.getFlags() & ts.TypeFlags.Object) {
        const object = type as ts.ObjectType;
        if (object.objectFlags & ts.ObjectFlags.Reference) {
          for (const argument of checker.getTypeArguments(object as ts.TypeReference)) {
            walk(argument, path);
          }
        }
        const symbol = type.getSymbol();
        if (symbol !== undefined && (symbol.flags & NAMED) !== 0) {
          // A class instance or an interface: the declared type, so generic members are walked once.
          if (isOwn(symbol)) meetNamed(symbol, checker.getDeclaredTypeOfSymbol(symbol), path);
        } else if (symbol === undefined || (symbol.flags & UNNAMED) !== 0) {
          // An object literal type, a function type or a method: what it holds is met through it.
          walkMembers(type, path);
        }
      }
    };

    for (const value of values) {
      const declaration = value.valueDeclaration;
      if (declaration === undefined) continue;
      const type = checker.getTypeOfSymbolAtLocation(value, declaration);
      if (inputsOnly) {
        // What a user passes in: the parameters, and everything met through them.
        for (const signature of [...type.getCallSignatures(), ...type.getConstructSignatures()]) {
          for (const parameter of signature.getParameters()) {
            const at = parameter.valueDeclaration;
            if (at === undefined) continue;
            walk(
              checker.getTypeOfSymbolAtLocation(parameter, at),
              `${value.name}(${parameter.name})`,
            );
          }
        }
        continue;
      }
      walkMembers(type, value.name);
      if (value.flags & ts.SymbolFlags.Class) {
        walkMembers(checker.getDeclaredTypeOfSymbol(value), value.name);
      }
    }
    return { missing: [...missing.values()].sort(), reached };
  };

  const inputs = closure(true);
  const all = closure(false);
  const unreachable = [...exported]
    .filter((symbol) => !all.reached.has(symbol))
    .map((symbol) => symbol.name)
    .sort();
  return { names, unnamedInputs: inputs.missing, unnamed: all.missing, unreachable };
}

// Run directly (`npx ts-node --transpile-only test/types/public-surface.ts`) to print the surface.
if (require.main === module) {
  const surface = readPublicSurface(process.argv[2] ? resolve(process.argv[2]) : undefined);
  const values = surface.names.filter((name) => name.value);
  process.stdout.write(
    `${surface.names.length} names: ${values.length} values, ${surface.names.length - values.length} types\n` +
      values.map((name) => `  value ${name.kind} ${name.name}\n`).join('') +
      `unnamed inputs (${surface.unnamedInputs.length}):\n` +
      surface.unnamedInputs.map((line) => `  ${line}\n`).join('') +
      `unnamed (${surface.unnamed.length}):\n` +
      surface.unnamed.map((line) => `  ${line}\n`).join('') +
      `unreachable (${surface.unreachable.length}): ${surface.unreachable.join(', ')}\n`,
  );
}
