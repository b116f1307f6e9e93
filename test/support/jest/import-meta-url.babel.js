/**
 * Jest runs our CommonJS build; NestJS 12, @noble/ciphers and friends ship ESM only. Babel turns
 * those packages into CommonJS for the test runtime, and this plugin rewrites the one ESM-only
 * expression they use, `import.meta.url`, into its CommonJS equivalent.
 */
module.exports = function importMetaUrl({ types: t }) {
  return {
    visitor: {
      MetaProperty(path) {
        if (path.node.meta.name !== 'import' || path.node.property.name !== 'meta') return;
        const parent = path.parentPath;
        if (parent.isMemberExpression() && t.isIdentifier(parent.node.property, { name: 'url' })) {
          parent.replaceWithSourceString("require('node:url').pathToFileURL(__filename).href");
        } else {
          path.replaceWithSourceString("({ url: require('node:url').pathToFileURL(__filename).href })");
        }
      },
    },
  };
};
