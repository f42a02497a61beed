// graphql-schema-linter has rules for input object *fields* (input-object-values-are-camel-cased,
// input-object-values-have-descriptions) but none for the input object's own name: this one makes
// every input type `<Something>Input`, as mutations' `input` arguments and filters are named.
const { ValidationError } = require('graphql-schema-linter/lib/validation_error');

function InputObjectTypesEndWithInput(context) {
  return {
    InputObjectTypeDefinition(node) {
      const name = node.name.value;
      if (!/^[A-Z][A-Za-z0-9]*Input$/.test(name)) {
        context.reportError(
          new ValidationError(
            'input-object-types-end-with-input',
            `The input object type \`${name}\` should be PascalCase and end with \`Input\`.`,
            [node.name],
          ),
        );
      }
    },
  };
}

module.exports = { InputObjectTypesEndWithInput };
